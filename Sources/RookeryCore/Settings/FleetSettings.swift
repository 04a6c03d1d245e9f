import FoundationEssentials

/// The client settings an administrator may set for many devices at once
/// (`server/client-settings.yml`), and the values each may take. The server refuses others
/// before anything ships; the device checks again before it adopts a set, and refuses the whole
/// set when one value is wrong, keeping the set it had (a server of another version, or a
/// tampered file, must not leave a device half-configured).
public enum FleetSettings {
    /// Whole numbers, and their bounds: a collect interval of 0 would collect every minute on
    /// every laptop, one of a year would never report.
    public static let numbers: [String: ClosedRange<Int>] = [
        "collect_interval": 60...86_400, "submit_interval": 60...86_400, "update_interval": 60...86_400,
        "plugin_timeout": 1...3600, "plugin_parallelism": 1...32, "request_timeout": 5...600,
        "command_timeout": 1...86_400, "command_max_failures": 1...100,
        "queue_max_items": 10...100_000, "queue_max_age_days": 1...365
    ]
    /// Space-separated names.
    public static let nameLists: Set<String> = ["disabled_plugins"]

    public static var keys: [String] { (Array(numbers.keys) + nameLists).sorted() }

    /// Why `value` cannot be `key`'s fleet-wide value; nil when it can.
    public static func problem(key: String, value: String) -> String? {
        if let range = numbers[key] {
            // Written as the device's reader takes a number: decimal digits, no sign, no leading zero.
            guard let number = Int(value), String(number) == value, range.contains(number) else {
                return "\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound)"
            }
            return nil
        }
        if nameLists.contains(key) {
            let names = value.split(separator: " ")
            guard names.count <= 64, names.allSatisfy({ isPluginName(String($0)) }) else {
                return "\(key) must be at most 64 plugin names (letters, digits, ., _ and -), space-separated"
            }
            return nil
        }
        return "\(key) cannot be set for a fleet; the fleet may set \(keys.joined(separator: ", "))"
    }

    /// A plugin's name as its file name without the extension.
    public static func isPluginName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64 && !name.hasPrefix(".")
            && name.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D
            }
    }

    /// The settings as a client settings file (`var/client/fleet-settings.yml`), in key order:
    /// numbers bare (a quoted one would be text, which the strict reader refuses), names quoted.
    /// Only values `problem` accepted belong here.
    public static func text(_ values: [String: String]) -> String {
        values.keys.sorted().map { key in
            (numbers[key] != nil ? "\(key): \(values[key]!)" : ClientSettingsFile.line(key, values[key]!)) + "\n"
        }.joined()
    }
}
