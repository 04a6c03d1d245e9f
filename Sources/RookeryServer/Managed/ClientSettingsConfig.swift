import Foundation
import RookeryCore
import Yams

/// `server/client-settings.yml`: the client settings of the fleet (`defaults`) and of groups
/// (`groups`), as `FleetSettings` allows them. A device in several groups takes each group's
/// values in the order the file lists the groups, so a later group wins for a key both set.
public struct ClientSettingsConfig: Sendable, Equatable {
    public var defaults: [String: String] = [:]
    public var groups: [(name: String, values: [String: String])] = []

    public init() {}

    public static func == (a: ClientSettingsConfig, b: ClientSettingsConfig) -> Bool {
        a.defaults == b.defaults && a.groups.map(\.name) == b.groups.map(\.name) && a.groups.map(\.values) == b.groups.map(\.values)
    }

    public static func parse(_ text: String, source: String) throws -> ClientSettingsConfig {
        let reader = ConfigReader(source: source)
        var config = ClientSettingsConfig()
        for (key, node) in try reader.top(text, allowed: ["defaults", "groups"]) {
            if key == "defaults" {
                config.defaults = try values(node, reader)
            } else {
                for (name, values) in try reader.pairs(node) {
                    guard DeviceGroup.isValidName(name) else { throw reader.error(node, "\(name) is not a group name") }
                    config.groups.append((name, try self.values(values, reader)))
                }
            }
        }
        return config
    }

    /// The groups the file names.
    public var groupNames: [String] { groups.map(\.name) }

    /// The settings of a device in `groups`: the defaults, then each of its groups in file order.
    public func effective(for groups: Set<String>) -> [String: String] {
        var values = defaults
        for group in self.groups where groups.contains(group.name) { values.merge(group.values) { $1 } }
        return values
    }

    private static func values(_ node: Node, _ reader: ConfigReader) throws -> [String: String] {
        var values: [String: String] = [:]
        for (key, value) in try reader.pairs(node) {
            let text: String
            if case .sequence(let items) = value {
                text = try items.map(reader.scalar).joined(separator: " ")
            } else {
                text = try reader.scalar(value)
            }
            if let problem = FleetSettings.problem(key: key, value: text) { throw reader.error(value, problem) }
            values[key] = text
        }
        return values
    }
}
