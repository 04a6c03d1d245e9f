import Foundation

/// A plugin's output parsed back into plain JSON values, so tests check exactly what the server
/// will store: key names, `true` versus `"true"`, `"unknown"` versus absent.
///
/// Literals make expectations read like the JSON itself:
/// `#expect(report["all_encrypted"] == true)`, `#expect(report["backends"] == ["ufw"])`.
enum JSON: Decodable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([JSON])
    case object([String: JSON])
    case null
    /// What a lookup gives for a key or index that is not there.
    case absent

    init(_ data: Data) throws {
        self = try JSONDecoder().decode(JSON.self, from: data)
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSON].self))
        }
    }

    subscript(key: String) -> JSON {
        guard case .object(let members) = self else { return .absent }
        return members[key] ?? .absent
    }

    subscript(index: Int) -> JSON {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return .absent }
        return elements[index]
    }

    var elements: [JSON] {
        if case .array(let elements) = self { return elements }
        return []
    }

    var keys: Set<String> {
        if case .object(let members) = self { return Set(members.keys) }
        return []
    }

    var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The first object of an array whose `key` has the value `value`: the mount with
    /// "mount_point" "/", the port with "port" 22.
    func first(where key: String, is value: JSON) -> JSON {
        elements.first { $0[key] == value } ?? .absent
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    init(stringLiteral value: String) { self = .string(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(integerLiteral value: Int) { self = .number(Double(value)) }
    init(arrayLiteral elements: JSON...) { self = .array(elements) }
    init(dictionaryLiteral members: (String, JSON)...) {
        self = .object(Dictionary(members, uniquingKeysWith: { _, last in last }))
    }
    init(nilLiteral: ()) { self = .null }
}
