import RookeryCore
import RookeryServer

/// How `bin/client_parameters ls` prints a device's parameters: one line each for people, JSON
/// for scripts.
enum ClientParametersFormatter {
    static func text(_ device: Device, _ values: [String: [String]]) -> String {
        guard !values.isEmpty else { return "\(device.hostname) has no parameters" }
        return values.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.joined(separator: " "))" }.joined(separator: "\n")
    }

    static func json(_ device: Device, _ values: [String: [String]]) -> String {
        let fields = values.mapValues { JSONValue.array($0.map(JSONValue.string)) }
        return JSONValue.object([
            "hostname": .string(device.hostname), "fingerprint": .string(device.fingerprint),
            "parameters": .object(fields)
        ]).serializedString
    }
}
