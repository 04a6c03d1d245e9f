import FoundationEssentials

/// A dotted document path whose value is secret, such as `plugins.hardware.serial`: the same
/// syntax the audit's checks and the history use. Only plugin results can be secret, so a
/// selector starts with `plugins.` and names at least a plugin and one of its fields; components
/// are letters, digits, `_` and `-`.
public struct SecretSelector: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let components: [String]
    public var description: String { components.joined(separator: ".") }

    public init(_ text: String) throws {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, parts[0] == "plugins" else {
            throw SecretSelectorError(text: text, reason: "a selector names a field of a plugin's result, such as plugins.hardware.serial")
        }
        guard parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(Self.isPathCharacter) }) else {
            throw SecretSelectorError(text: text, reason: "each dotted part must be letters, digits, '_' or '-'")
        }
        components = parts
    }

    public static func < (a: SecretSelector, b: SecretSelector) -> Bool { a.description < b.description }

    /// The value at this path, if the document has one.
    public func value(in document: JSONValue) -> JSONValue? {
        components.reduce(Optional(document)) { current, key in current?[key] }
    }

    /// The document with the value at this path replaced by `transform` of it; unchanged where the
    /// path does not exist.
    public func replacing(in document: JSONValue, _ transform: (JSONValue) throws -> JSONValue) rethrows -> JSONValue {
        try document.transforming(at: components, transform)
    }

    /// Whether a dotted history path lies at or below this selector.
    public func covers(path: String) -> Bool {
        path == description || path.hasPrefix(description + ".")
    }

    private static func isPathCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-")
    }
}

public struct SecretSelectorError: KindedError, Sendable {
    public var kind: ErrorKind { .input }
    public let text: String
    public let reason: String
    public var description: String { "not a secret selector: \(LogText.escaped(text)): \(reason)" }
}
