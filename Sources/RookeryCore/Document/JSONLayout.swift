#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the members of a JSON object lie in its text, and, to some depth, where the members of
/// the objects among them lie: enough to compare two documents part by part by their bytes, and
/// to parse only the parts that differ (`DocumentDiff.changes(from:to:)` with texts).
public struct JSONLayout: Sendable {
    public struct Member: Sendable {
        /// The member's value in the text, in bytes.
        public let range: Range<Int>
        /// The value's own layout, when it is an object within the depth asked for.
        public let layout: JSONLayout?
    }

    public let members: [String: Member]
}

/// A JSON object's text with its layout `levels` deep. Checked as the parser checks any text,
/// except that duplicate keys are refused only in the objects laid out (deeper ones are checked
/// when a member is parsed with `value(at:)`, as every member whose bytes differ is).
public struct JSONText: Sendable {
    public let bytes: [UInt8]
    public let layout: JSONLayout
    let limits: JSONLimits

    /// Throws when `text` is not one JSON object within `limits`.
    public init(_ text: String, levels: Int, limits: JSONLimits = JSONLimits()) throws {
        bytes = Array(text.utf8)
        layout = try bytes.withUnsafeBufferPointer { try JSONParser.layout($0, levels: levels, limits: limits) }
        self.limits = limits
    }

    /// The value whose text is at `range` (a member's, from the layout).
    public func value(at range: Range<Int>) throws -> JSONValue {
        try bytes.withUnsafeBufferPointer { try JSONParser.parse(UnsafeBufferPointer(rebasing: $0[range]), limits: limits) }
    }

    /// Whether the two texts have the same bytes at these ranges.
    func same(_ range: Range<Int>, as other: JSONText, at otherRange: Range<Int>) -> Bool {
        bytes.withUnsafeBufferPointer { mine in
            other.bytes.withUnsafeBufferPointer { theirs in
                Self.sameBytes(UnsafeBufferPointer(rebasing: mine[range]), UnsafeBufferPointer(rebasing: theirs[otherRange]))
            }
        }
    }

    /// Whether two byte runs are equal; `memcmp`, which the generic `elementsEqual` is several
    /// times slower than (it showed in profiles of a submission's storing).
    public static func sameBytes(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        guard let first = a.baseAddress, let second = b.baseAddress else { return true }
        return memcmp(first, second, a.count) == 0
    }
}
