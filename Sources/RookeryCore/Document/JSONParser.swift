/// A strict JSON (RFC 8259) parser into `JSONValue`.
///
/// Every request body and plugin output goes through it, so it is both fast (one pass over the
/// bytes, no Codable machinery) and careful with hostile input: nesting is limited, duplicate
/// keys are refused (two parsers must never disagree on what a signed body says), invalid UTF-8
/// and unescaped control characters are refused, and nothing may follow the value.
public struct JSONParseError: KindedError, Sendable {
    public let offset: Int
    public let reason: String
    public var kind: ErrorKind { .input }
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// Bounds on what one parse may build. The defaults are far above anything a plugin or a device
/// sends, and keep the memory a hostile body can claim close to its own size (docs/security.md).
public struct JSONLimits: Sendable, Equatable {
    /// Objects and arrays inside each other.
    public var maxDepth = 64
    /// Bytes of one string (a key or a value), after unescaping.
    public var maxStringBytes = 1 << 20
    /// Members of one object, elements of one array.
    public var maxMembers = 100_000
    /// Values in the whole document, containers included.
    public var maxValues = 200_000

    public init() {}

    /// For what the server itself stored: checked on the way in, and never refused on the way
    /// out if a later version lowers a limit. (The depth bound stays: it protects the stack.)
    public static let storedData: JSONLimits = {
        var limits = JSONLimits()
        limits.maxStringBytes = .max
        limits.maxMembers = .max
        limits.maxValues = .max
        return limits
    }()
}

struct JSONParser {
    private let bytes: UnsafeBufferPointer<UInt8>
    private let limits: JSONLimits
    private var index = 0
    private var values = 0
    /// While true, values are checked but not kept (see `scanTopLevel`).
    private var discarding = false

    private init(_ bytes: UnsafeBufferPointer<UInt8>, limits: JSONLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, limits: JSONLimits) throws -> JSONValue {
        var parser = JSONParser(bytes, limits: limits)
        let value = try parser.value(depth: 0)
        try parser.expectEnd()
        return value
    }

    /// Checks that `bytes` is one JSON object and keeps only the top-level members named in
    /// `keeping`, the strings among them as they are and the others as null: everything else is
    /// read to the end and checked, but never built. So the memory it takes is a few strings, whatever the body holds.
    /// (Duplicate keys are refused at the top level; inside what is skipped, the full parse
    /// refuses them later.)
    static func scanTopLevel(
        _ bytes: UnsafeBufferPointer<UInt8>, keeping: Set<String>,
        limits: JSONLimits
    ) throws -> [String: JSONValue] {
        var parser = JSONParser(bytes, limits: limits)
        parser.skipWhitespace()
        guard try parser.consume(UInt8(ascii: "{")) else { throw parser.error("expected an object") }
        parser.values = 1
        var kept: [String: JSONValue] = [:]
        var seen = Set<String>()
        parser.skipWhitespace()
        if !(try parser.consume(UInt8(ascii: "}"))) {
            repeat {
                let key = try parser.memberKey(count: seen.count)
                guard seen.insert(key).inserted else { throw parser.error("duplicate key \"\(key)\"") }
                parser.skipWhitespace()
                parser.discarding = !keeping.contains(key) || !parser.startsString

                let value = try parser.value(depth: 1)
                // A kept key whose value is not a string is kept as null: its presence counts
                // (an `endpoint` of 1 is not an absent one), its value is never built.
                if keeping.contains(key) { kept[key] = parser.discarding ? .null : value }
                parser.skipWhitespace()
            } while try parser.consume(UInt8(ascii: ","))
            guard try parser.consume(UInt8(ascii: "}")) else { throw parser.error("expected ',' or '}'") }
        }
        try parser.expectEnd()
        return kept
    }

    /// `parse` for text that must be one object: its members, and where each member's value
    /// lies in `bytes` (so that a member can be kept as text, see `JSONCanonicalText`).
    static func parseObject(
        _ bytes: UnsafeBufferPointer<UInt8>,
        limits: JSONLimits
    ) throws -> (members: [String: JSONValue], ranges: [String: Range<Int>]) {
        var parser = JSONParser(bytes, limits: limits)
        parser.skipWhitespace()
        guard parser.startsObject else { throw parser.error("expected an object") }
        parser.values = 1
        parser.index += 1
        var members: [String: JSONValue] = [:]
        var ranges: [String: Range<Int>] = [:]
        parser.skipWhitespace()
        if !(try parser.consume(UInt8(ascii: "}"))) {
            repeat {
                let key = try parser.memberKey(count: members.count)
                parser.skipWhitespace()
                let start = parser.index
                let value = try parser.value(depth: 1)
                guard members.updateValue(value, forKey: key) == nil else { throw parser.error("duplicate key \"\(key)\"") }
                ranges[key] = start..<parser.index
                parser.skipWhitespace()
            } while try parser.consume(UInt8(ascii: ","))
            guard try parser.consume(UInt8(ascii: "}")) else { throw parser.error("expected ',' or '}'") }
        }
        try parser.expectEnd()
        return (members, ranges)
    }

    /// Checks that `bytes` is one JSON object and says where its members lie, and where the
    /// members of the objects among them lie, `levels` deep (see `JSONLayout`); builds no value.
    static func layout(_ bytes: UnsafeBufferPointer<UInt8>, levels: Int, limits: JSONLimits) throws -> JSONLayout {
        var parser = JSONParser(bytes, limits: limits)
        parser.discarding = true
        parser.skipWhitespace()
        guard parser.startsObject else { throw parser.error("expected an object") }
        parser.values = 1
        let layout = try parser.layout(depth: 1, levels: levels)
        try parser.expectEnd()
        return layout
    }

    private var startsObject: Bool { index < bytes.count && bytes[index] == UInt8(ascii: "{") }

    /// The object at `index`, checked as `object` checks it, with its members' byte ranges.
    private mutating func layout(depth: Int, levels: Int) throws -> JSONLayout {
        guard depth <= limits.maxDepth else { throw error("nested deeper than \(limits.maxDepth)") }
        index += 1
        var members: [String: JSONLayout.Member] = [:]
        skipWhitespace()
        if try consume(UInt8(ascii: "}")) { return JSONLayout(members: members) }
        repeat {
            let key = try memberKey(count: members.count)
            skipWhitespace()
            let start = index
            var inner: JSONLayout?
            if levels > 1 && startsObject {
                values += 1
                guard values <= limits.maxValues else { throw error("more than \(limits.maxValues) values") }
                inner = try layout(depth: depth + 1, levels: levels - 1)
            } else {
                _ = try value(depth: depth)
            }
            guard members.updateValue(JSONLayout.Member(range: start..<index, layout: inner), forKey: key) == nil else {
                throw error("duplicate key \"\(key)\"")
            }
            skipWhitespace()
        } while try consume(UInt8(ascii: ","))
        guard try consume(UInt8(ascii: "}")) else { throw error("expected ',' or '}'") }
        return JSONLayout(members: members)
    }

    private var startsString: Bool { index < bytes.count && bytes[index] == UInt8(ascii: "\"") }

    private mutating func expectEnd() throws {
        skipWhitespace()
        guard index == bytes.count else { throw error("unexpected content after the value") }
    }

    private mutating func value(depth: Int) throws -> JSONValue {
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end") }
        values += 1
        guard values <= limits.maxValues else { throw error("more than \(limits.maxValues) values") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string(building: !discarding))
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default: return try number()
        }
    }

    private mutating func object(depth: Int) throws -> JSONValue {
        guard depth <= limits.maxDepth else { throw error("nested deeper than \(limits.maxDepth)") }
        index += 1
        skipWhitespace()
        if try consume(UInt8(ascii: "}")) { return .object([:]) }
        // Grown as members arrive: reserving room up front would cost memory a body never paid for.
        var members = [String: JSONValue]()
        var count = 0
        repeat {
            // A skipped object's keys are checked but not built: nothing looks them up.
            let key = try memberKey(count: count, building: !discarding)
            count += 1
            let member = try value(depth: depth)
            guard discarding || members.updateValue(member, forKey: key) == nil else {
                throw error("duplicate key \"\(key)\"")
            }
            skipWhitespace()
        } while try consume(UInt8(ascii: ","))
        guard try consume(UInt8(ascii: "}")) else { throw error("expected ',' or '}'") }
        return discarding ? .null : .object(members)
    }

    /// A member's key and its colon; `count` members came before it in this object. With
    /// `building` false the key is checked as `string(building:)` checks it.
    private mutating func memberKey(count: Int, building: Bool = true) throws -> String {
        guard count < limits.maxMembers else { throw error("more than \(limits.maxMembers) members in one object") }
        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a key") }
        let key = try string(building: building)
        skipWhitespace()
        guard try consume(UInt8(ascii: ":")) else { throw error("expected ':'") }
        return key
    }

    private mutating func array(depth: Int) throws -> JSONValue {
        guard depth <= limits.maxDepth else { throw error("nested deeper than \(limits.maxDepth)") }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if try consume(UInt8(ascii: "]")) { return .array(elements) }
        var count = 0
        repeat {
            guard count < limits.maxMembers else { throw error("more than \(limits.maxMembers) elements in one array") }
            count += 1
            let element = try value(depth: depth)
            if !discarding { elements.append(element) }
            skipWhitespace()
        } while try consume(UInt8(ascii: ","))
        guard try consume(UInt8(ascii: "]")) else { throw error("expected ',' or ']'") }
        return discarding ? .null : .array(elements)
    }

    /// The string at `index`; with `building` false it is checked the same way but, unless it
    /// has escapes or non-ASCII characters, not built (a value being skipped).
    private mutating func string(building: Bool = true) throws -> String {
        index += 1  // the opening quote
        let start = index
        // Most strings have no escapes and are ASCII: find the closing quote and make the string
        // in one go (ASCII needs no UTF-8 validation).
        var high: UInt8 = 0
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"),
            bytes[index] >= 0x20
        {
            high |= bytes[index]
            index += 1
        }
        guard index - start <= limits.maxStringBytes else { throw error("a string longer than \(limits.maxStringBytes) bytes") }
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            let raw = UnsafeBufferPointer(rebasing: bytes[start..<index])
            index += 1
            if high < 0x80 { return building ? String(decoding: raw, as: UTF8.self) : "" }
            guard let text = String(validating: raw, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
            return text
        }
        var utf8 = Array(bytes[start..<index])
        while index < bytes.count {
            guard utf8.count <= limits.maxStringBytes else { throw error("a string longer than \(limits.maxStringBytes) bytes") }
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: utf8, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
                return text
            case UInt8(ascii: "\\"):
                try escape(into: &utf8)
            case 0..<0x20:
                throw error("control character in a string")
            default:
                utf8.append(byte)
            }
        }
        throw error("unterminated string")
    }

    private mutating func escape(into utf8: inout [UInt8]) throws {
        guard index < bytes.count else { throw error("unterminated escape") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"): utf8.append(contentsOf: Array(String(try unicodeEscape()).utf8))
        default: throw error("unknown escape")
        }
    }

    /// `\uXXXX`, joining a surrogate pair into one scalar.
    private mutating func unicodeEscape() throws -> Character {
        let first = try hex4()
        if (0xD800..<0xDC00).contains(first) {
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                throw error("lone surrogate")
            }
            index += 2
            let second = try hex4()
            guard (0xDC00..<0xE000).contains(second),
                let scalar = Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
            else {
                throw error("invalid surrogate pair")
            }
            return Character(scalar)
        }
        guard let scalar = Unicode.Scalar(first) else { throw error("lone surrogate") }
        return Character(scalar)
    }

    private mutating func hex4() throws -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = Hex.value(of: bytes[index]) else { throw error("bad hex digit") }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`: an integer when it has neither fraction
    /// nor exponent and fits in 64 bits, otherwise a double.
    private mutating func number() throws -> JSONValue {
        let start = index
        _ = try consume(UInt8(ascii: "-"))
        let integerDigits = digits()
        guard integerDigits > 0 else { throw error("unexpected character") }
        guard integerDigits == 1 || bytes[index - integerDigits] != UInt8(ascii: "0") else {
            throw error("leading zero")
        }
        var isInteger = true
        if try consume(UInt8(ascii: ".")) {
            isInteger = false
            guard digits() > 0 else { throw error("digits expected after '.'") }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw error("digits expected in the exponent") }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        if isInteger, let integer = Int64(text) { return .integer(integer) }
        guard let double = Double(text), double.isFinite else { throw error("number out of range") }
        return .number(double)
    }

    private mutating func digits() -> Int {
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        return index - start
    }

    private mutating func literal(_ word: StaticString) throws {
        let expected = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard index + expected.count <= bytes.count,
            expected.indices.allSatisfy({ bytes[index + $0] == expected[$0] })
        else {
            throw error("unexpected character")
        }
        index += expected.count
    }

    private mutating func consume(_ byte: UInt8) throws -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func error(_ reason: String) -> JSONParseError {
        JSONParseError(offset: index, reason: reason)
    }
}
