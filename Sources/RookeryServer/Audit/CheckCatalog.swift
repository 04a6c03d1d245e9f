import Foundation
import RookeryCore
import Yams

/// The checks of `server/issues.yml`, validated as a whole when loaded: a file with one mistake
/// is refused with the line of the mistake, rather than half applied.
public struct CheckCatalog: Sendable {
    public let checks: [Check]
    /// The checks applied to each device, and those about the server itself (run once per audit).
    public let deviceChecks: [Check], serverChecks: [Check]

    public init(checks: [Check]) {
        self.checks = checks
        deviceChecks = checks.filter { !$0.isServerCheck }
        serverChecks = checks.filter(\.isServerCheck)
    }

    public func check(named name: String) -> Check? { checks.first { $0.name == name } }

    public static func load(path: String) throws -> CheckCatalog {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SettingsError("cannot read \(path); copy server/issues.yml from the Rookery sources")
        }
        return try parse(text, source: path)
    }

    public static func parse(_ text: String, source: String) throws -> CheckCatalog {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            // issues.yml may hold webhook URLs with tokens: the error says where, not what.
            throw SettingsError(SettingsProblem.message(parsing: error, text: text, source: source))
        }
        var reader = CheckReader(source: source)
        return CheckCatalog(checks: try reader.catalog(root))
    }
}

/// Reads the YAML tree of issues.yml, naming the file and line in every error.
struct CheckReader {
    let source: String

    mutating func catalog(_ root: Node?) throws -> [Check] {
        guard let root else { return [] }
        let top = try mapping(root, allowed: ["checks"])
        guard let list = top["checks"] else { return [] }
        guard case .sequence(let items) = list else { throw error(list, "checks must be a list") }
        var checks: [Check] = []
        var seen: Set<String> = []
        for item in items {
            let check = try self.check(item)
            guard seen.insert(check.name).inserted else { throw error(item, "a second check named \(check.name)") }
            checks.append(check)
        }
        return checks
    }

    private func check(_ node: Node) throws -> Check {
        let fields = try mapping(
            node,
            allowed: [
                "name", "description", "condition", "computed", "after", "missing",
                "grace", "alert_every", "remediation", "webhook", "groups"
            ])
        let name = try string(fields, "name", in: node)
        guard CheckName.isValid(name) else {
            throw error(fields["name"]!, "check name \(name): use lower-case letters, digits, - and _")
        }
        var check = Check(
            name: name, description: try optionalString(fields, "description") ?? name,
            kind: try kind(fields, in: node))
        if let missing = fields["missing"] {
            guard let policy = missing.string.flatMap(Check.MissingPolicy.init(rawValue:)) else {
                throw error(missing, "missing must be pass, fail or unknown")
            }
            check.missing = policy
        }
        if check.isServerCheck, let grace = fields["grace"] {
            throw error(grace, "grace does not apply to \(fields["computed"]?.string ?? name); after says how early it warns")
        }
        check.grace = try duration(fields, "grace") ?? 0
        check.alertEvery = try duration(fields, "alert_every") ?? 86_400
        guard check.alertEvery > 0 else { throw error(fields["alert_every"]!, "alert_every must be more than 0") }
        check.remediation = try optionalString(fields, "remediation")
        check.webhook = try optionalString(fields, "webhook")
        if let url = check.webhook, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw error(fields["webhook"]!, "webhook must be an http:// or https:// URL")
        }
        if let node = fields["groups"] {
            if check.isServerCheck { throw error(node, "groups does not apply to a check of the server itself") }
            check.groups = try groups(node)
        }
        return check
    }

    private func kind(_ fields: [String: Node], in node: Node) throws -> Check.Kind {
        switch (fields["condition"], fields["computed"]) {
        case (let condition?, nil):
            if let after = fields["after"] { throw error(after, "after belongs to computed checks only") }
            return .condition(try self.condition(condition))
        case (nil, let computed?):
            if let missing = fields["missing"] { throw error(missing, "missing belongs to condition checks only") }
            let after = try duration(fields, "after")
            let kind = computed.string ?? ""
            if let node = fields["after"], !["not-reporting", "pending-patches", "expiring-certificate"].contains(kind) {
                throw error(node, "after belongs to not-reporting, pending-patches and expiring-certificate only")
            }
            switch kind {
            case "not-reporting": return .notReporting(after: after ?? 2 * 86_400)
            case "pending-patches": return .pendingPatches(after: after ?? 86_400)
            case "duplicate-host": return .duplicateHost
            case "plugin-failed": return .pluginFailed
            case "deprecated-port": return .deprecatedPort
            case "expiring-certificate": return .expiringCertificate(after: after ?? 14 * 86_400)
            default:
                throw error(computed, "computed must be one of \(Check.computedKinds.joined(separator: ", "))")
            }
        default:
            throw error(node, "a check needs either condition or computed, not both or neither")
        }
    }

    /// `groups: [db, staging]`: group names, at least one.
    private func groups(_ node: Node) throws -> [String] {
        guard case .sequence(let items) = node, !items.isEmpty else {
            throw error(node, "groups must be a non-empty list of group names")
        }
        return try items.map { item in
            guard let name = item.string, DeviceGroup.isValidName(name) else {
                throw error(item, "\(item.string ?? "?") is not a group name (lower-case letters, digits, - and _)")
            }
            return name
        }
    }

    // MARK: - Conditions

    private static let combinators = ["all", "any", "none"]
    private static let tests = [
        "equals", "not_equals", "in", "not_in", "exists", "less_than", "greater_than",
        "regex", "any_item"
    ]

    func condition(_ node: Node) throws -> Condition {
        let fields = try mapping(node, allowed: ["path"] + Self.combinators + Self.tests)
        let operators = fields.keys.filter { $0 != "path" }
        guard operators.count == 1, let op = operators.first else {
            throw error(
                node,
                "a condition has exactly one of \((Self.combinators + Self.tests).joined(separator: ", "))"
                    + (operators.isEmpty ? "" : "; found \(operators.sorted().joined(separator: ", "))"))
        }
        let operand = fields[op]!
        if Self.combinators.contains(op) {
            if let path = fields["path"] { throw error(path, "\(op) takes no path; give each part its own") }
            guard case .sequence(let parts) = operand, !parts.isEmpty else {
                throw error(operand, "\(op) must be a non-empty list of conditions")
            }
            let conditions = try parts.map { try condition($0) }
            return op == "all" ? .all(conditions) : op == "any" ? .any(conditions) : .none(conditions)
        }
        let path = try self.path(fields["path"])
        if op == "any_item" { return .anyItem(path: path, try condition(operand)) }
        return .test(path: path, try test(op, operand))
    }

    private func test(_ op: String, _ operand: Node) throws -> Condition.Test {
        switch op {
        case "equals": return .equals(try value(operand))
        case "not_equals": return .notEquals(try value(operand))
        case "in", "not_in":
            guard case .sequence(let items) = operand else { throw error(operand, "\(op) must be a list of values") }
            let values = try items.map { try value($0) }
            return op == "in" ? .isIn(values) : .notIn(values)
        case "exists":
            guard let wanted = operand.bool else { throw error(operand, "exists must be true or false") }
            return .exists(wanted)
        case "less_than", "greater_than":
            guard let limit = operand.float, case .scalar = operand else { throw error(operand, "\(op) must be a number") }
            return op == "less_than" ? .lessThan(limit) : .greaterThan(limit)
        default:
            guard let source = operand.string else { throw error(operand, "regex must be a string") }
            do {
                return .matches(try Pattern(source))
            } catch {
                throw self.error(operand, "regex \(source) does not compile")
            }
        }
    }

    /// A YAML scalar as the JSON value a plugin would print: true/false, numbers, null, strings.
    func value(_ node: Node) throws -> JSONValue {
        guard case .scalar(let scalar) = node else { throw error(node, "expected a single value, not a list or map") }
        if scalar.style == .plain {
            if node.null != nil { return .null }
            // Only true and false: YAML 1.1 also reads yes/no/on/off as booleans, but sshd and
            // other plugins print those as text, so `equals: yes` must stay the string "yes".
            if ["true", "false"].contains(scalar.string.lowercased()), let b = node.bool { return .bool(b) }
            if let i = node.int { return .integer(Int64(i)) }
            if let d = node.float { return .number(d) }
        }
        return .string(scalar.string)
    }

    private func path(_ node: Node?) throws -> DocumentPath {
        guard let node else { return DocumentPath("")! }
        guard let text = node.string, let path = DocumentPath(text) else {
            throw error(node, "path must be dotted names of letters, digits, _ and - (like plugins.sshd.running)")
        }
        return path
    }

    // MARK: - Plumbing

    private func mapping(_ node: Node, allowed: [String]) throws -> [String: Node] {
        guard case .mapping(let pairs) = node else { throw error(node, "expected a map of keys and values") }
        var fields: [String: Node] = [:]
        for (key, value) in pairs {
            guard let name = key.string, allowed.contains(name) else {
                throw error(key, "unknown key \(key.string ?? "?"); expected one of \(allowed.joined(separator: ", "))")
            }
            fields[name] = value  // Yams has already refused a key given twice.
        }
        return fields
    }

    private func string(_ fields: [String: Node], _ key: String, in node: Node) throws -> String {
        guard let text = try optionalString(fields, key), !text.isEmpty else { throw error(node, "\(key) is required") }
        return text
    }

    private func optionalString(_ fields: [String: Node], _ key: String) throws -> String? {
        guard let node = fields[key] else { return nil }
        guard case .scalar(let scalar) = node else { throw error(node, "\(key) must be text") }
        return scalar.string.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func duration(_ fields: [String: Node], _ key: String) throws -> TimeInterval? {
        guard let node = fields[key] else { return nil }
        guard let seconds = node.string.flatMap(DurationText.seconds) else {
            throw error(node, "\(key) must be a duration such as 0, 12h, 7d or 1d12h")
        }
        return seconds
    }

    private func error(_ node: Node, _ message: String) -> SettingsError {
        SettingsError("\(source):\(node.mark.map { "\($0.line)" } ?? "?"): \(message)")
    }
}
