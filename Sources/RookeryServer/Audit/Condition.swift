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
/// `exists`, and `equals`/`in` when they name "unknown" themselves. A secret value (see
/// `SecretValue`) answers `unknown` to every test, `exists` included: the server cannot read it,
/// and a path below it reads as the secret itself. `all`, `any` and `none` combine answers in
/// three-valued logic: one clear part clears an `all`, one holding part makes an `any` hold, and
/// only what is left undecided stays unknown.
public indirect enum Condition: Sendable, Equatable {
    case test(path: DocumentPath, Test)
    /// Holds when `condition` holds for at least one element of the array (or value of the
    /// object) at `path`; its paths are relative to that element.
    case anyItem(path: DocumentPath, Condition)
    case all([Condition])
    case any([Condition])
    case none([Condition])

    public enum Test: Sendable, Equatable {
        case equals(JSONValue), notEquals(JSONValue), oneOf(Choices), noneOf(Choices)
        case exists(Bool)
        case lessThan(Double), greaterThan(Double)
        case matches(Pattern)

        public static func isIn(_ values: [JSONValue]) -> Test { .oneOf(Choices(values)) }
        public static func notIn(_ values: [JSONValue]) -> Test { .noneOf(Choices(values)) }
    }

    /// Evaluates against a document, a list item, or a store's projection of a document.
    public func evaluate<Input: ConditionInput>(_ input: Input) -> Verdict {
        switch self {
        case .test(let path, let test):
            return test.evaluate(input.value(at: path))
        case .anyItem(let path, let condition):
            return Self.anyItem(of: input.value(at: path), condition)
        case .all(let parts):
            // One clear part settles it; the rest need not run (regexes are the dear ones).
            var sawUnknown = false
            for part in parts {
                switch part.evaluate(input) {
                case .clear: return .clear
                case .unknown: sawUnknown = true
                case .holds: break
                }
            }
            return sawUnknown ? .unknown : .holds
        case .any(let parts):
            return Self.any(parts, on: input)
        case .none(let parts):
            switch Self.any(parts, on: input) {
            case .holds: return .clear
            case .clear: return .holds
            case .unknown: return .unknown
            }
        }
    }

    /// The elements that make each `any_item` in this condition hold, for the report to show.
    public func matchingItems<Input: ConditionInput>(in input: Input) -> [JSONValue] {
        switch self {
        case .test: return []
        case .anyItem(let path, let condition):
            let container = input.value(at: path)
            let items: [JSONValue] =
                switch container {
                case .array(let list)?: list
                case .object(let fields)? where !Self.isSecret(container): fields.keys.sorted().compactMap { fields[$0] }
                default: []
                }
            return items.filter { condition.evaluate($0) == .holds }
        case .all(let parts), .any(let parts): return parts.flatMap { $0.matchingItems(in: input) }
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

    /// Holds as soon as one of `conditions` holds for one of `inputs`.
    private static func any<S: Sequence>(_ conditions: [Condition], on inputs: S) -> Verdict where S.Element: ConditionInput {
        var sawUnknown = false
        for input in inputs {
            for condition in conditions {
                switch condition.evaluate(input) {
                case .holds: return .holds
                case .unknown: sawUnknown = true
                case .clear: break
                }
            }
        }
        return sawUnknown ? .unknown : .clear
    }

    private static func any<Input: ConditionInput>(_ conditions: [Condition], on input: Input) -> Verdict {
        any(conditions, on: CollectionOfOne(input))
    }

    private static func anyItem(of container: JSONValue?, _ condition: Condition) -> Verdict {
        switch container {
        case .array(let items): return any([condition], on: items)
        case .object(let fields) where !isSecret(container): return any([condition], on: fields.values)
        default: return .unknown
        }
    }

    /// A secret value's members are its ciphertext and hash: never items to test or to show.
    private static func isSecret(_ value: JSONValue?) -> Bool {
        value.map(SecretValue.isSecret) ?? false
    }
}

extension Condition.Test {
    func evaluate(_ found: JSONValue?) -> Verdict {
        if let found, SecretValue.isSecret(found) { return .unknown }
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
        case .oneOf(let choices):
            if found == .string("unknown") && choices.namesUnknown { return .holds }
            guard let value else { return .unknown }
            return Verdict(choices.contains(value), true)
        case .noneOf(let choices):
            guard let value else { return .unknown }
            return Verdict(choices.contains(value), false)
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

extension Verdict {
    /// `.holds` when `fact` is what the test wants, else `.clear`.
    fileprivate init(_ fact: Bool, _ wanted: Bool) { self = fact == wanted ? .holds : .clear }
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

/// Where a condition finds the values its paths name.
public protocol ConditionInput {
    func value(at path: DocumentPath) -> JSONValue?
}

extension JSONValue: ConditionInput {
    public func value(at path: DocumentPath) -> JSONValue? { path.lookup(in: self) }
}

extension Optional: ConditionInput where Wrapped == JSONValue {
    public func value(at path: DocumentPath) -> JSONValue? { path.lookup(in: self) }
}

/// The values of a document at the paths the checks read, as a store hands them over.
public struct Projection: ConditionInput, Sendable {
    public var values: [DocumentPath: JSONValue] = [:]
    public init(_ values: [DocumentPath: JSONValue] = [:]) { self.values = values }
    public func value(at path: DocumentPath) -> JSONValue? { values[path] }
}

/// The values of an `in` or `not_in` list; numbers go in a set, since port lists run long and
/// are tested once per item of every device's list.
public struct Choices: Sendable, Equatable {
    public let values: [JSONValue]
    private let numbers: Set<Double>
    private let others: [JSONValue]

    public init(_ values: [JSONValue]) {
        self.values = values
        numbers = Set(values.compactMap(\.numberValue))
        others = values.filter { $0.numberValue == nil }
    }

    func contains(_ value: JSONValue) -> Bool {
        if let number = value.numberValue { return numbers.contains(number) }
        return others.contains(value)
    }

    var namesUnknown: Bool { others.contains(.string("unknown")) }

    public static func == (a: Choices, b: Choices) -> Bool { a.values == b.values }
}

/// A dotted path into a document, such as `plugins.sshd.password_authentication`. The empty path
/// is the value itself (used inside `any_item`).
public struct DocumentPath: Sendable, Hashable, CustomStringConvertible {
    public let components: [String]
    /// The dotted form, hashed and compared in place of the components.
    public let description: String

    /// Components are letters, digits, `_` and `-`, so a path is safe to hand to a database's JSON
    /// functions after quoting.
    public init?(_ text: String) {
        let parts = text.isEmpty ? [] : text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(Self.isPathCharacter) }) else { return nil }
        components = parts
        description = text
    }

    public static func == (a: DocumentPath, b: DocumentPath) -> Bool { a.description == b.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }

    /// The value at this path; a secret value on the way is the answer, since what lies below
    /// it is the device's secret too.
    func lookup(in value: JSONValue?) -> JSONValue? {
        var current = value
        for key in components {
            guard let here = current, !SecretValue.isSecret(here) else { return current }
            current = here[key]
        }
        return current
    }

    private static func isPathCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-")
    }
}

/// A compiled regular expression; compiled once when issues.yml is loaded.
public struct Pattern: Sendable, Equatable {
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
