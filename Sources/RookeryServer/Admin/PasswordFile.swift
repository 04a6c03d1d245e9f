import Foundation
import RookeryCore

/// The password edit of server/settings.yml: one value set, checked by reading the whole result
/// back (only that one value may differ).
public struct PasswordFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Throws, and leaves the file as it was, when the edit would not read as meant.
    public func store(_ hash: String, user: String, endpoint: String?) throws {
        let keys = endpoint.map { ["endpoint_auth", $0, "passwords", user] } ?? ["users", user]
        try SettingsFileUpdate(path: path).apply { text in
            let edited = SettingsEditor.setting(keys, to: "\"\(hash)\"", in: text)
            guard Self.differOnlyAt(keys, value: hash, before: text, after: edited) else {
                throw AdminError(
                    "cannot edit \(path) safely (is \(keys.dropLast().joined(separator: ".")) written in flow style, "
                        + "{...}?); add this under \(keys.dropLast().joined(separator: ".")) by hand:\n  \(user): \"\(hash)\"")
            }
            return edited
        }
    }

    /// Whether `after` reads as `before` with `path` set to `value`, and nothing else changed.
    static func differOnlyAt(_ path: [String], value: String, before: String, after: String) -> Bool {
        SettingsFileUpdate.reads(after, as: before) { setting(path[...], to: value, in: &$0) }
    }

    /// Sets `path` in nested mappings, making (or replacing with) mappings on the way.
    private static func setting(_ path: ArraySlice<String>, to value: String, in map: inout [String: Any]) {
        guard let key = path.first else { return }
        guard path.count > 1 else {
            map[key] = value
            return
        }
        var child = map[key] as? [String: Any] ?? [:]
        setting(path.dropFirst(), to: value, in: &child)
        map[key] = child
    }
}
