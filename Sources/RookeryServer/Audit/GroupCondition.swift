import Foundation
import RookeryCore
import Yams

/// A dynamic group's condition as `bin/groups create --condition` takes it: either comparisons
/// joined by `and` (`plugins.os_info.id == debian and plugins.memory.total_mb > 4000`), or any
/// condition of issues.yml written as a YAML flow map (`{any: [{path: a, equals: 1}, ...]}`).
/// Comparisons are `==`, `!=`, `<`, `>` and `=~` (a regular expression); a value is read as
/// issues.yml reads one, so `true`, `12` and `"12"` are a boolean, a number and a string.
public enum GroupCondition {
    /// The longest condition kept, in UTF-8 bytes.
    public static let maxBytes = 2000

    public static func parse(_ text: String) throws -> Condition {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.utf8.count <= maxBytes, !trimmed.contains("\n") else {
            throw SettingsError("a condition is one line of 1 to \(maxBytes) bytes")
        }
        let reader = CheckReader(source: "condition")
        if trimmed.hasPrefix("{") {
            guard let node = try? Yams.compose(yaml: trimmed) else { throw SettingsError("the condition is not a YAML map") }
            return try reader.condition(node)
        }
        let parts = try trimmed.components(separatedBy: " and ").map(comparison)
        return parts.count == 1 ? parts[0] : .all(parts)
    }

    /// Two-character operators first, so `<` is not found inside `=~`.
    private static let operators = ["==", "!=", "=~", "<", ">"]

    private static func comparison(_ text: String) throws -> Condition {
        for symbol in operators {
            guard let range = text.range(of: " \(symbol) ") else { continue }
            let pathText = text[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            guard let path = DocumentPath(pathText) else {
                throw SettingsError("\(pathText) is not a path: dotted names of letters, digits, _ and - (like plugins.os_info.id)")
            }
            return .test(path: path, try test(symbol, text[range.upperBound...].trimmingCharacters(in: .whitespaces)))
        }
        throw SettingsError(
            "cannot read \"\(text)\": write PATH OP VALUE with OP one of ==, !=, <, >, =~ (spaces around it), "
                + "joined by and; or a YAML map as in issues.yml")
    }

    private static func test(_ symbol: String, _ operand: String) throws -> Condition.Test {
        switch symbol {
        case "==": .equals(try value(operand))
        case "!=": .notEquals(try value(operand))
        case "=~": .matches(try pattern(operand))
        case "<": .lessThan(try number(operand))
        default: .greaterThan(try number(operand))
        }
    }

    private static func value(_ text: String) throws -> JSONValue {
        guard !text.isEmpty, let node = (try? Yams.compose(yaml: text)) ?? nil else {
            throw SettingsError("no value after the comparison")
        }
        return try CheckReader(source: "condition").value(node)
    }

    private static func number(_ text: String) throws -> Double {
        guard let number = Double(text), number.isFinite else { throw SettingsError("\(text) is not a number") }
        return number
    }

    private static func pattern(_ text: String) throws -> Pattern {
        do {
            return try Pattern(text)
        } catch {
            throw SettingsError("regex \(text) does not compile")
        }
    }
}
