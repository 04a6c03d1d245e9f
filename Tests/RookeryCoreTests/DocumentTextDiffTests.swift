import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// `DocumentDiff.changes` over texts compares two documents member by member by their bytes and
/// parses only the members that differ (the server's submissions, issue 15). It must find exactly
/// what the diff of the parsed values finds, whatever the texts: canonical or not, secret values,
/// empty objects, members that change type, at any layout depth.
@Suite struct DocumentTextDiffTests {
    typealias Walk = DocumentDiffWalkTests

    static func textDiff(_ old: String, _ new: JSONValue, levels: Int) throws -> [DocumentChange] {
        let newText = try JSONText(new.serializedString, levels: levels)
        return try DocumentDiff.changes(from: try JSONText(old, levels: levels), to: newText, newValue: new)
    }

    @Test(arguments: [1, 2, 3])
    func equalsTheValueDiffOnRandomEdits(levels: Int) throws {
        var random = SeededRandom(seed: 20_261_206 + UInt64(levels))
        for round in 0..<3000 {
            let old = Walk.document(depth: 0, random: &random)
            let new = round % 10 == 0 ? Walk.document(depth: 0, random: &random) : Walk.edited(old, random: &random)
            // One old text in four is not canonical: same value, other bytes.
            let oldText = round % 4 == 0 ? Self.loose(old) : old.serializedString
            let expected = DocumentDiff.changes(from: old, to: new)
            let found = try Self.textDiff(oldText, new, levels: levels)
            #expect(found == expected, "round \(round): \(oldText) -> \(new.serializedString)")
            if found != expected { return }
        }
    }

    @Test func edgeShapes() throws {
        let secret = SecretValue(message: Data([1]), hash: "aa").json
        let cases: [(JSONValue, JSONValue)] = [
            (.object([:]), .object(["a": .integer(1)])),
            (.object(["a": .object(["b": .integer(1)])]), .object(["a": .integer(2)])),
            (.object(["a": .integer(2)]), .object(["a": .object(["b": .integer(1)])])),
            (.object(["a": .object([:])]), .object(["a": .object(["b": .null])])),
            (.object(["a": .object(["b": .null])]), .object(["a": .object([:])])),
            (.object(["a": secret]), .object(["a": .object(["secret": .null, "other": .integer(1)])])),
            (.object(["a": .object(["secret": .null, "other": .integer(1)])]), .object(["a": secret])),
            (.object(["a": secret]), .object(["a": SecretValue(message: Data([2]), hash: "aa").json])),
            (.object(["a.b": .integer(1)]), .object(["a": .object(["b": .integer(1)])])),
            (.object(["": .object(["a": .integer(1)])]), .object(["a": .integer(1)])),
            (.object(["p": .object(["q": .object(["r": .integer(1)])])]), .object(["p": .object(["q": .object(["r": .integer(2)])])]))
        ]
        for (old, new) in cases {
            for levels in 1...3 {
                #expect(
                    try Self.textDiff(old.serializedString, new, levels: levels) == DocumentDiff.changes(from: old, to: new),
                    "\(old.serializedString) -> \(new.serializedString), \(levels) levels")
            }
        }
        // No old document: everything is new.
        let new = JSONValue.object(["a": .object(["b": .integer(1)])])
        #expect(
            try DocumentDiff.changes(from: nil, to: JSONText(new.serializedString, levels: 2), newValue: new)
                == [DocumentChange(path: "a.b", old: nil, new: .integer(1))])
    }

    /// The layout is read with the parser's own checks: a text is refused as an old document
    /// exactly when the parser refuses it or it is not an object (duplicate keys: in the
    /// objects laid out; deeper ones when a member is parsed).
    @Test func theLayoutRefusesWhatTheParserRefuses() {
        var random = SeededRandom(seed: 61206)
        for round in 0..<4000 {
            var bytes = Array(Walk.document(depth: 0, random: &random).serializedString.utf8)
            switch round % 4 {
            case 0: bytes[Int(random.next() % UInt64(bytes.count))] = random.pick(Array("{}[]\",:\\ 0a\u{1}".utf8))
            case 1: bytes.removeSubrange(Int(random.next() % UInt64(bytes.count))...)
            case 2: bytes.insert(random.pick(Array("{}[]\",:x".utf8)), at: Int(random.next() % UInt64(bytes.count)))
            default: break
            }
            let text = String(decoding: bytes, as: UTF8.self)
            let parsed = try? JSONValue.parse(text)
            let parsedObject = parsed.map { if case .object = $0 { true } else { false } } ?? false
            for levels in 1...2 {
                let laidOut = (try? JSONText(text, levels: levels)) != nil
                #expect(laidOut == parsedObject, "round \(round): \(text)")
            }
        }
        #expect(throws: JSONParseError.self) { try JSONText(#"{"a":{"b":1,"b":2}}"#, levels: 2) }
        #expect(throws: JSONParseError.self) { try JSONText(#"{"a":1,"a":1}"#, levels: 1) }
        #expect(throws: JSONParseError.self) { try JSONText("[1]", levels: 2) }
    }

    /// `value` as valid JSON that is not canonical: spaces, and keys in reverse order.
    static func loose(_ value: JSONValue) -> String {
        switch value {
        case .object(let members):
            let parts = members.sorted { $0.key > $1.key }.map { " \(JSONValue.string($0.key).serializedString) : \(loose($0.value))" }
            return "{" + parts.joined(separator: " ,") + " }"
        case .array(let elements):
            return "[ " + elements.map(loose).joined(separator: ", ") + " ]"
        default:
            return value.serializedString
        }
    }
}
