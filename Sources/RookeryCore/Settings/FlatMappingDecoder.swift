/// Decodes a settings type from a `FlatMapping`, so the type's own `init(from:)` (its keys, defaults
/// and refusals) serves this reader as it serves JSON. Values are read as Yams reads them: plain
/// `true`/`yes`/`on` and `false`/`no`/`off` in any case are booleans, plain decimal numbers are
/// integers, any value is text, and a plain null (`~`, `null`, nothing) is no value. Integers
/// that Yams reads in other ways (`0x1f`, `010` as octal, `1:30` as 90) are refused, not guessed.
struct FlatMappingDecoder: Decoder {
    let mapping: FlatMapping
    let userInfo: [CodingUserInfoKey: Any]
    var codingPath: [any CodingKey] { [] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Container<Key>(mapping: mapping))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "a flat mapping"))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "a flat mapping"))
    }

    /// The mapping's keys and values; a type this reader has no reading for is a mismatch.
    private struct Container<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let mapping: FlatMapping
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { mapping.entries.compactMap { Key(stringValue: $0.key) } }

        func contains(_ key: Key) -> Bool { entry(key) != nil }

        func decodeNil(forKey key: Key) throws -> Bool { try value(key).isNull }

        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
            let value = try value(key)
            let words: [String: Bool] = ["true": true, "yes": true, "on": true, "false": false, "no": false, "off": false]
            guard value.isPlain, let bool = words[value.text.lowercased()] else { throw mismatch(type, key) }
            return bool
        }

        func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
            let value = try value(key)
            // Yams drops every underscore, then reads a leading 0 as octal (and a signed zero not at all).
            let digits = value.text.filter { $0 != "_" }
            let decimal = digits == "0" || digits.drop { "+-".contains($0) }.first.map { ("1"..."9").contains($0) } == true
            guard value.isPlain, decimal, let int = Int(digits) else { throw mismatch(type, key) }
            return int
        }

        func decode(_ type: String.Type, forKey key: Key) throws -> String { try value(key).text }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            switch type {
            case is Bool.Type: try decode(Bool.self, forKey: key) as! T
            case is Int.Type: try decode(Int.self, forKey: key) as! T
            case is String.Type: try decode(String.self, forKey: key) as! T
            default: throw mismatch(type, key)
            }
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            throw mismatch([String: Any].self, key)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { throw mismatch([Any].self, key) }
        func superDecoder() throws -> any Decoder { throw mismatch(Any.self, nil) }
        func superDecoder(forKey key: Key) throws -> any Decoder { throw mismatch(Any.self, key) }

        private func entry(_ key: Key) -> FlatMapping.Entry? { mapping.entries.first { $0.key == key.stringValue } }

        private func value(_ key: Key) throws -> FlatMapping.Scalar {
            guard let entry = entry(key) else {
                throw DecodingError.keyNotFound(key, .init(codingPath: [], debugDescription: "no such key"))
            }
            return entry.value
        }

        /// The error says which key and what type, never the value (settings hold secrets).
        private func mismatch(_ type: Any.Type, _ key: Key?) -> DecodingError {
            DecodingError.typeMismatch(type, .init(codingPath: key.map { [$0] } ?? [], debugDescription: "a value of another type"))
        }
    }
}
