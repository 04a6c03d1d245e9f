import FoundationEssentials

/// The members of a request body, already through the strict parse (duplicate keys refused),
/// read by name into typed values. Every getter throws the `malformed` refusal a server sends,
/// naming the field, so a message type states its rules in one line per field.
public struct MessageFields: Sendable {
    public let members: [String: JSONValue]

    public init(_ members: [String: JSONValue]) { self.members = members }

    public func string(_ name: String) throws -> String {
        guard let value = members[name]?.stringValue else { throw missing(name, "a string") }
        return value
    }

    public func optionalString(_ name: String) throws -> String? {
        guard let value = members[name] else { return nil }
        guard let string = value.stringValue else { throw missing(name, "a string") }
        return string
    }

    /// A whole number in `range`.
    public func integer(_ name: String, in range: ClosedRange<Int64>) throws -> Int64 {
        guard let value = members[name]?.integerValue, range.contains(value) else {
            throw missing(name, "a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    public func object(_ name: String) throws -> [String: JSONValue] {
        guard let value = members[name]?.objectValue else { throw missing(name, "an object") }
        return value
    }

    public func optionalObject(_ name: String) throws -> [String: JSONValue]? {
        guard members[name] != nil else { return nil }
        return try object(name)
    }

    public func optionalBool(_ name: String) throws -> Bool? {
        guard let value = members[name] else { return nil }
        guard let bool = value.boolValue else { throw missing(name, "true or false") }
        return bool
    }

    /// An identifier: 1-128 of [A-Za-z0-9._-] (see `InputValidation.isIdentifier`).
    public func identifier(_ name: String) throws -> String {
        let value = try string(name)
        guard InputValidation.isIdentifier(value) else { throw missing(name, "1-128 of [A-Za-z0-9._-]") }
        return value
    }

    /// One of an enumeration's raw values.
    public func value<T: RawRepresentable & CaseIterable>(_ name: String, of type: T.Type) throws -> T where T.RawValue == String {
        guard let value = T(rawValue: try string(name)) else {
            throw missing(name, "one of " + T.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return value
    }

    private func missing(_ name: String, _ shape: String) -> ProtocolError {
        ProtocolError(.malformed, "\(name) is missing or not \(shape)")
    }
}
