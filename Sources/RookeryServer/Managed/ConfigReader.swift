import Foundation
import RookeryCore
import Yams

/// Reads the YAML tree of one of the managed-state files (client-settings.yml, firewall.yml,
/// access.yml), naming the file and line in every error, and refusing keys it does not know.
struct ConfigReader {
    let source: String

    /// The file's top mapping (an empty file is an empty mapping), its keys among `allowed`.
    func top(_ text: String, allowed: [String]) throws -> [(key: String, value: Node)] {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw SettingsError(SettingsProblem.message(parsing: error, text: text, source: source))
        }
        guard let root else { return [] }
        return try pairs(root, allowed: allowed)
    }

    /// A mapping's entries in file order; with `allowed`, only those keys.
    func pairs(_ node: Node, allowed: [String]? = nil) throws -> [(key: String, value: Node)] {
        guard case .mapping(let mapping) = node else { throw error(node, "expected a map of keys and values") }
        return try mapping.map { key, value in
            guard let name = key.string else { throw error(key, "a key must be text") }
            if let allowed, !allowed.contains(name) {
                throw error(key, "unknown key \(name); expected one of \(allowed.joined(separator: ", "))")
            }
            return (name, value)
        }
    }

    func fields(_ node: Node, allowed: [String]) throws -> [String: Node] {
        Dictionary(try pairs(node, allowed: allowed), uniquingKeysWith: { first, _ in first })
    }

    func list(_ node: Node) throws -> [Node] {
        guard case .sequence(let items) = node else { throw error(node, "expected a list") }
        return Array(items)
    }

    func scalar(_ node: Node) throws -> String {
        guard case .scalar(let scalar) = node else { throw error(node, "expected a single value, not a list or map") }
        return scalar.string
    }

    func groupName(_ node: Node) throws -> String {
        let name = try scalar(node)
        guard DeviceGroup.isValidName(name) else { throw error(node, "\(name) is not a group name (lower-case letters, digits, - and _)") }
        return name
    }

    func error(_ node: Node, _ message: String) -> SettingsError {
        SettingsError("\(source):\(node.mark.map { "\($0.line)" } ?? "?"): \(message)")
    }
}
