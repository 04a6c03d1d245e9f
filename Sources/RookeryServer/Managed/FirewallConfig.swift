import Foundation
import RookeryCore
import Yams

/// `server/firewall.yml`: which traffic the members of a group accept, and from whom.
///
///     defaults: {input: accept}          # the input policy of a device a rule or group names
///     groups:
///       db: {input: drop}                 # per-group defaults, later groups winning
///     rules:
///       - {group: db, allow: {tcp: [5432]}, from_group: app}
///       - {group: web, allow: {tcp: [80, 443]}}          # from anywhere
///
/// A device gets a table when a rule or `groups` entry names one of its groups; others get none.
public struct FirewallConfig: Sendable, Equatable {
    public enum Policy: String, Sendable, Equatable { case accept, drop }

    public struct Rule: Sendable, Equatable {
        public var group: String
        public var tcp: [Int]
        public var udp: [Int]
        /// nil: from anywhere.
        public var fromGroup: String?
    }

    public var defaultPolicy: Policy = .accept
    public var groupPolicies: [(name: String, policy: Policy)] = []
    public var rules: [Rule] = []

    public init() {}

    public static func == (a: FirewallConfig, b: FirewallConfig) -> Bool {
        a.defaultPolicy == b.defaultPolicy && a.rules == b.rules && a.groupPolicies.map(\.name) == b.groupPolicies.map(\.name)
            && a.groupPolicies.map(\.policy) == b.groupPolicies.map(\.policy)
    }

    /// Every group the file names (to check they exist).
    public var groupNames: [String] {
        groupPolicies.map(\.name) + rules.flatMap { [$0.group] + ($0.fromGroup.map { [$0] } ?? []) }
    }

    public static func parse(_ text: String, source: String) throws -> FirewallConfig {
        let reader = ConfigReader(source: source)
        var config = FirewallConfig()
        for (key, node) in try reader.top(text, allowed: ["defaults", "groups", "rules"]) {
            switch key {
            case "defaults":
                if let policy = try policy(node, reader) { config.defaultPolicy = policy }
            case "groups":
                for (name, value) in try reader.pairs(node) {
                    guard DeviceGroup.isValidName(name) else { throw reader.error(node, "\(name) is not a group name") }
                    config.groupPolicies.append((name, try policy(value, reader) ?? config.defaultPolicy))
                }
            default:
                config.rules = try reader.list(node).map { try rule($0, reader) }
            }
        }
        return config
    }

    private static func policy(_ node: Node, _ reader: ConfigReader) throws -> Policy? {
        guard let value = try reader.fields(node, allowed: ["input"])["input"] else { return nil }
        guard let policy = Policy(rawValue: try reader.scalar(value)) else { throw reader.error(value, "input must be accept or drop") }
        return policy
    }

    private static func rule(_ node: Node, _ reader: ConfigReader) throws -> Rule {
        let fields = try reader.fields(node, allowed: ["group", "allow", "from_group"])
        guard let group = fields["group"], let allow = fields["allow"] else { throw reader.error(node, "a rule needs group and allow") }
        let ports = try reader.fields(allow, allowed: ["tcp", "udp"])
        guard !ports.isEmpty else { throw reader.error(allow, "allow needs tcp or udp ports") }
        return Rule(
            group: try reader.groupName(group), tcp: try ports["tcp"].map { try portList($0, reader) } ?? [],
            udp: try ports["udp"].map { try portList($0, reader) } ?? [], fromGroup: try fields["from_group"].map(reader.groupName))
    }

    private static func portList(_ node: Node, _ reader: ConfigReader) throws -> [Int] {
        let ports = try reader.list(node).map { item -> Int in
            guard let port = Int(try reader.scalar(item)), (1...65_535).contains(port) else {
                throw reader.error(item, "a port is a whole number from 1 to 65535")
            }
            return port
        }
        guard !ports.isEmpty else { throw reader.error(node, "an empty list of ports") }
        return Array(Set(ports)).sorted()
    }
}
