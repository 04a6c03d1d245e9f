import FoundationEssentials

/// A JSON value. Documents, plugin output and protocol bodies are all made of these.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var integerValue: Int64? {
        if case .integer(let i) = self { return i }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// This value with the value at `path` (object keys, outermost first) replaced by `transform`
    /// of it; unchanged where the path does not exist.
    public func transforming(at path: [String], _ transform: (JSONValue) throws -> JSONValue) rethrows -> JSONValue {
        try transforming(at: path[...], transform)
    }

    public func replacing(at path: [String], with replacement: JSONValue) -> JSONValue {
        transforming(at: path) { _ in replacement }
    }

    private func transforming(at path: ArraySlice<String>, _ transform: (JSONValue) throws -> JSONValue) rethrows -> JSONValue {
        guard let key = path.first else { return try transform(self) }
        guard case .object(var members) = self, let child = members[key] else { return self }
        members[key] = try child.transforming(at: path.dropFirst(), transform)
        return .object(members)
    }

    /// Parses JSON bytes strictly (see `JSONParser`) within `limits`; the top level may be any value.
    public static func parse(_ data: Data, limits: JSONLimits = JSONLimits()) throws -> JSONValue {
        try data.withUnsafeBytes { raw in
            try JSONParser.parse(raw.bindMemory(to: UInt8.self), limits: limits)
        }
    }

    /// Parses JSON text without copying it first.
    public static func parse(_ text: String, limits: JSONLimits = JSONLimits()) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { try JSONParser.parse($0, limits: limits) }
    }

    /// Parses `data`, which must be one JSON object, as `parse` does; also says where each
    /// member's value lies in `data`, in bytes.
    public static func parseObject(_ data: Data, limits: JSONLimits = JSONLimits()) throws
        -> (members: [String: JSONValue], ranges: [String: Range<Int>])
    {
        try data.withUnsafeBytes { raw in
            try JSONParser.parseObject(raw.bindMemory(to: UInt8.self), limits: limits)
        }
    }

    /// Checks that `data` is one JSON object within `limits` and returns only its top-level
    /// members named in `keeping`: strings as they are, any other value as null, building
    /// nothing else (see `JSONParser.scanTopLevel`).
    public static func topLevelMembers(
        of data: Data, keeping: Set<String>,
        limits: JSONLimits = JSONLimits()
    ) throws -> [String: JSONValue] {
        try data.withUnsafeBytes { raw in
            try JSONParser.scanTopLevel(raw.bindMemory(to: UInt8.self), keeping: keeping, limits: limits)
        }
    }

    /// Compact JSON with sorted keys, so equal values serialize to equal bytes.
    public func serialized() -> Data {
        var out: [UInt8] = []
        JSONWriter.write(self, into: &out)
        return Data(out)
    }

    public var serializedString: String {
        var out: [UInt8] = []
        JSONWriter.write(self, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
