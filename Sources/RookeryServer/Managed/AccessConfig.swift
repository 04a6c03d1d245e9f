import Foundation
import RookeryCore
import Yams

/// `server/access.yml`: people and their SSH keys, teams of people, and grants of an account on
/// a group's devices.
///
///     people:
///       alice: {keys: ["ssh-ed25519 AAAA... alice@laptop"]}
///     teams:
///       devs: [alice, bob]
///     grants:
///       - {people: devs, account: deploy, devices: {group: staging}}
///
/// A device gets an authorized_keys for every account a grant gives on one of its groups,
/// holding the keys of everyone granted it; a person removed from the file is in none.
public struct AccessConfig: Sendable, Equatable {
    public struct Grant: Sendable, Equatable {
        /// A person or a team.
        public var people: String
        public var account: String
        public var group: String
    }

    public var keys: [String: [String]] = [:]
    public var teams: [String: [String]] = [:]
    public var grants: [Grant] = []

    public init() {}

    public var groupNames: [String] { grants.map(\.group) }

    public static func parse(_ text: String, source: String) throws -> AccessConfig {
        let reader = ConfigReader(source: source)
        var config = AccessConfig()
        var grantNodes: [Node] = []
        for (key, node) in try reader.top(text, allowed: ["people", "teams", "grants"]) {
            switch key {
            case "people":
                for (name, person) in try reader.pairs(node) {
                    guard isName(name) else { throw reader.error(node, "\(name) is not a name (letters, digits, ., _ and -)") }
                    guard let keys = try reader.fields(person, allowed: ["keys"])["keys"] else { throw reader.error(person, "\(name) needs keys") }
                    config.keys[name] = try reader.list(keys).map { item in
                        let line = try reader.scalar(item).trimmingCharacters(in: .whitespaces)
                        if let problem = SSHPublicKeyLine.problem(line) { throw reader.error(item, "a key of \(name): \(problem)") }
                        return line
                    }
                }
            case "teams":
                for (name, members) in try reader.pairs(node) {
                    guard isName(name) else { throw reader.error(node, "\(name) is not a name") }
                    config.teams[name] = try reader.list(members).map(reader.scalar)
                }
            default:
                grantNodes = try reader.list(node)
            }
        }
        for (team, members) in config.teams {
            if let stranger = members.first(where: { config.keys[$0] == nil }) {
                throw SettingsError("\(source): team \(team) names \(stranger), who is not under people")
            }
            if config.keys[team] != nil { throw SettingsError("\(source): \(team) is both a person and a team") }
        }
        config.grants = try grantNodes.map { try grant($0, reader, config) }
        return config
    }

    /// The authorized_keys of each account granted to a device in `groups`, keys in a stable order.
    public func files(for groups: Set<String>) -> [String: String] {
        var granted: [String: Set<String>] = [:]
        for grant in grants where groups.contains(grant.group) {
            granted[grant.account, default: []].formUnion(teams[grant.people] ?? [grant.people])
        }
        return granted.mapValues { people in
            // The device puts its managed-by line first; the keys come by person, in name order.
            people.sorted().flatMap { keys[$0] ?? [] }.map { $0 + "\n" }.joined()
        }
    }

    private static func grant(_ node: Node, _ reader: ConfigReader, _ config: AccessConfig) throws -> Grant {
        let fields = try reader.fields(node, allowed: ["people", "account", "devices"])
        guard let people = fields["people"], let account = fields["account"], let devices = fields["devices"] else {
            throw reader.error(node, "a grant needs people, account and devices")
        }
        let who = try reader.scalar(people)
        guard config.keys[who] != nil || config.teams[who] != nil else { throw reader.error(people, "\(who) is neither a person nor a team") }
        let name = try reader.scalar(account)
        guard ManagedAccountName.isValid(name) else { throw reader.error(account, "\(name) is not an account name ([a-z_][a-z0-9_-]*, at most 32)") }
        guard let group = try reader.fields(devices, allowed: ["group"])["group"] else { throw reader.error(devices, "devices needs group") }
        return Grant(people: who, account: name, group: try reader.groupName(group))
    }

    static func isName(_ name: String) -> Bool {
        name.range(of: "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", options: .regularExpression) != nil
    }
}
