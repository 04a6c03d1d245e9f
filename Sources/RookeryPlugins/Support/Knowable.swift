import FoundationEssentials

/// A fact a plugin either knows or cannot tell.
///
/// Rookery's convention: where a plugin cannot tell, it says so with the JSON string "unknown" instead
/// of guessing, so the server's audit can tell "no" from "could not look". A known value encodes as the
/// value itself: `.known(true)` is `true`, `.unknown` is `"unknown"`.
enum Knowable<Value: Encodable>: Encodable {
    case known(Value)
    case unknown

    /// `.known(value)` when there is a value, `.unknown` for nil.
    init(_ value: Value?) {
        self = value.map(Knowable.known) ?? .unknown
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .known(let value): try container.encode(value)
        case .unknown: try container.encode("unknown")
        }
    }
}

extension Knowable where Value == Bool {
    /// Whether several yes/no answers are all yes: false as soon as one is false, else "unknown" if one
    /// is unknown, else true. No answers at all is "unknown": there was nothing to look at.
    static func all(_ answers: [Knowable<Bool>]) -> Knowable<Bool> {
        if answers.isEmpty { return .unknown }
        if answers.contains(.known(false)) { return .known(false) }
        if answers.contains(.unknown) { return .unknown }
        return .known(true)
    }
}

extension Knowable: Equatable where Value: Equatable {}
extension Knowable: Hashable where Value: Hashable {}

/// Turns a plugin's report into the bytes it prints.
enum PluginJSON {
    /// Keys are sorted so the same facts always give the same bytes, and Swift's camelCase property
    /// names become the snake_case keys the server stores ("allEncrypted" is "all_encrypted").
    static func encode(_ report: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(report)
    }
}
