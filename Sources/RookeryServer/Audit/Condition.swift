import Foundation
import RookeryCore

/// What a condition says about one device: the problem is there, it is not, or the data cannot tell.
public enum Verdict: String, Sendable, Codable {
    case holds, clear, unknown
}

/// A condition over a device's document, as written in `server/issues.yml`. It describes the
/// problem: where it holds, the check's issue is open.
///
/// Values that are absent, null or the string "unknown" (what plugins print when they cannot
/// tell) are missing. A test on a missing value answers `unknown` rather than guessing, except
/// `exists`, and `equals`/`in` when they name "unknown" themselves. `all`, `any` and `none`
/// combine answers in three-valued logic: one clear part clears an `all`, one holding part makes
/// an `any` hold, and only what is left undecided stays unknown.
public indirect enum Condition: Sendable, Equatable {
    case test(path: DocumentPath, Test)
    /// Holds when `condition` holds for at least one element of the array (or value of the
    /// object) at `path`; its paths are relative to that element.
    case anyItem(path: DocumentPath, Condition)
    case all([Condition])
    case any([Condition])
    case none([Condition])

    public enum Test: Sendable, Equatable {
        case equals(JSONValue), notEquals(JSONValue), isIn([JSONValue]), notIn([JSONValue])
        case exists(Bool)
        case lessThan(Double), greaterThan(Double)
        case matches(Pattern)
    }

    public func evaluate(_ value: JSONValue?) -> Verdict {
        switch self {
        case .test(let path, let test):
            return test.evaluate(path.lookup(in: value))
        case .anyItem(let path, let condition):
            return Self.anyItem(of: path.lookup(in: value), condition)
        case .all(let parts):
            // One clear part settles it; the rest need not run (regexes are the dear ones).
            var sawUnknown = false
            for part in parts {
                switch part.evaluate(value) {
                case .clear: return .clear
                case .unknown: sawUnknown = true
                case .holds: break
                }
            }
            return sawUnknown ? .unknown : .holds
        case .any(let parts):
            return Self.any(parts, on: value)
        case .none(let parts):
            switch Self.any(parts, on: value) {
            case .holds: return .clear
            case .clear: return .holds
            case .unknown: return .unknown
            }
        }
    }

    /// The elements that make each `any_item` in this condition hold, for the report to show.
    public func matchingItems(in value: JSONValue?) -> [JSONValue] {
        switch self {
        case .test: return []
        case .anyItem(let path, let condition):
            let items: [JSONValue] = switch path.lookup(in: value) {
            case .array(let list)?: list
            case .object(let fields)?: fields.keys.sorted().compactMap { fields[$0] }
            default: []
            }
            return items.filter { condition.evaluate($0) == .holds }
        case .all(let parts), .any(let parts): return parts.flatMap { $0.matchingItems(in: value) }
        case .none: return []
        }
    }

    /// The top-level paths this condition reads, so the store can hand over just those values.
    public var paths: [DocumentPath] {
        switch self {
        case .test(let path, _), .anyItem(let path, _): [path]
        case .all(let parts), .any(let parts), .none(let parts): parts.flatMap(\.paths)
        }
    }

    /// Holds as soon as one condition holds for one value.
    private static func any<S: Sequence>(_ conditions: [Condition], on values: S) -> Verdict where S.Element == JSONValue? {
        var sawUnknown = false
        for value in values {
            for condition in conditions {
                switch condition.evaluate(value) {
                case .holds: return .holds
                case .unknown: sawUnknown = true
                case .clear: break
                }
            }
        }
        return sawUnknown ? .unknown : .clear
    }

    private static func any(_ conditions: [Condition], on value: JSONValue?) -> Verdict {
        any(conditions, on: CollectionOfOne(value))
    }

    private static func anyItem(of container: JSONValue?, _ condition: Condition) -> Verdict {
        switch container {
        case .array(let items): return any([condition], on: items.lazy.map { $0 as JSONValue? })
        case .object(let fields): return any([condition], on: fields.values.lazy.map { $0 as JSONValue? })
        default: return .unknown
        }
    }
}

extension Condition.Test {
    func evaluate(_ found: JSONValue?) -> Verdict {
        let value = found.flatMap { $0.isMissing ? nil : $0 }
        switch self {
        case .exists(let wanted):
            return Verdict(value != nil, wanted)
        case .equals(let expected):
            if found == .string("unknown") && expected == .string("unknown") { return .holds }
            guard let value else { return .unknown }
            return Verdict(value.sameValue(as: expected), true)
        case .notEquals(let expected):
            guard let value else { return .unknown }
            return Verdict(value.sameValue(as: expected), false)
        case .isIn(let choices):
            if found == .string("unknown") && choices.contains(.string("unknown")) { return .holds }
            guard let value else { return .unknown }
            return Verdict(choices.contains { value.sameValue(as: $0) }, true)
        case .notIn(let choices):
            guard let value else { return .unknown }
            return Verdict(choices.contains { value.sameValue(as: $0) }, false)
        case .lessThan(let limit):
            guard let number = value?.numberValue else { return .unknown }
            return Verdict(number < limit, true)
        case .greaterThan(let limit):
            guard let number = value?.numberValue else { return .unknown }
            return Verdict(number > limit, true)
        case .matches(let pattern):
            guard let text = value?.stringValue else { return .unknown }
            return Verdict(pattern.matches(text), true)
        }
    }
}

private extension Verdict {
    /// `.holds` when `fact` is what the test wants, else `.clear`.
    init(_ fact: Bool, _ wanted: Bool) { self = fact == wanted ? .holds : .clear }
}

extension JSONValue {
    /// Absent data in a document: null, or "unknown", which plugins print when they cannot tell.
    var isMissing: Bool { self == .null || self == .string("unknown") }

    var numberValue: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .number(let d): d
        default: nil
        }
    }

    /// Equality where 1 and 1.0 are the same number.
    func sameValue(as other: JSONValue) -> Bool {
        if let a = numberValue, let b = other.numberValue { return a == b }
        return self == other
    }
}

/// A dotted path into a document, such as `plugins.sshd.password_authentication`. The empty path
/// is the value itself (used inside `any_item`).
public struct DocumentPath: Sendable, Hashable, CustomStringConvertible {
    public let components: [String]

    /// Components are letters, digits, `_` and `-`, so a path is safe to hand to a database's JSON
    /// functions after quoting.
    public init?(_ text: String) {
        let parts = text.isEmpty ? [] : text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(Self.isPathCharacter) }) else { return nil }
        components = parts
    }

    public var description: String { components.joined(separator: ".") }

    func lookup(in value: JSONValue?) -> JSONValue? {
        components.reduce(value) { current, key in current?[key] }
    }

    private static func isPathCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-")
    }
}

/// A compiled regular expression; compiled once when issues.yml is loaded.
public struct Pattern: @unchecked Sendable, Equatable {
    public let source: String
    private let expression: NSRegularExpression

    public init(_ source: String) throws {
        self.source = source
        expression = try NSRegularExpression(pattern: source)
    }

    func matches(_ text: String) -> Bool {
        expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    public static func == (a: Pattern, b: Pattern) -> Bool { a.source == b.source }
}
