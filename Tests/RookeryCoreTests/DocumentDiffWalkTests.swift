import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// `DocumentDiff.changes` walks both documents at once instead of flattening each whole. Its
/// definition is still the flattened one: every dotted path whose leaf differs between the two
/// flattened documents (secret values compared by hash). These tests hold the walk to that
/// definition on random documents and random edits of them.
@Suite struct DocumentDiffWalkTests {

    /// The definition, from `flatten`.
    static func byFlattening(_ old: JSONValue?, _ new: JSONValue) -> [DocumentChange] {
        let before = DocumentDiff.flatten(old ?? .object([:]))
        let after = DocumentDiff.flatten(new)
        return Set(before.keys).union(after.keys).sorted().compactMap { path in
            let (a, b) = (before[path], after[path])
            if let a, let b, let secretA = SecretValue(a), let secretB = SecretValue(b), secretA.sameValue(as: secretB) {
                return nil
            }
            return a == b ? nil : DocumentChange(path: path, old: a, new: b)
        }
    }

    @Test func equalsTheFlattenedDefinitionOnRandomEdits() {
        var random = SeededRandom(seed: 20_261_206)
        for round in 0..<3000 {
            let old = Self.document(depth: 0, random: &random)
            let new = round % 10 == 0 ? Self.document(depth: 0, random: &random) : Self.edited(old, random: &random)
            let walked = DocumentDiff.changes(from: old, to: new)
            #expect(walked == Self.byFlattening(old, new), "round \(round)")
            if walked != Self.byFlattening(old, new) { return }
        }
    }

    @Test func edgeShapes() {
        let secret = SecretValue(message: Data([1]), hash: "aa").json
        let cases: [(JSONValue?, JSONValue)] = [
            (nil, .object(["a": .integer(1)])),
            (.string("not an object"), .object(["a": .object([:])])),
            (.object(["a": .object(["b": .integer(1)])]), .object(["a": .integer(2)])),
            (.object(["a": .integer(2)]), .object(["a": .object(["b": .integer(1)])])),
            (.object(["a": .object([:])]), .object(["a": .object(["b": .null])])),
            (.object(["a": secret]), .object(["a": .object(["secret": .null, "other": .integer(1)])])),
            (.object(["a.b": .integer(1)]), .object(["a": .object(["b": .integer(1)])])),
            (.object(["a": .array([.integer(1)])]), .object(["a": .array([.integer(1), .integer(2)])])),
            (.object([:]), .string("root leaf")),
            (.object(["": .object(["a": .integer(1)])]), .object(["a": .integer(1)])),
            (.object(["": .integer(1)]), .object(["": .integer(2)]))
        ]
        for (old, new) in cases {
            #expect(DocumentDiff.changes(from: old, to: new) == Self.byFlattening(old, new))
        }
        // A top-level key "" is a member like any other, with the path "", not the root.
        #expect(
            DocumentDiff.changes(from: .object(["": .object(["a": .integer(1)])]), to: .object(["a": .integer(1)]))
                == [DocumentChange(path: ".a", old: .integer(1), new: nil), DocumentChange(path: "a", old: nil, new: .integer(1))])
        #expect(
            DocumentDiff.changes(
                from: .object(["a": .integer(2)]),
                to: .object(["a": .object(["b": .integer(1)])])
            ).map(\.path) == ["a", "a.b"])
    }

    // MARK: - Random documents

    static let keys = ["a", "b", "c.d", "e\\f", "plugins", "x\u{1}", "secret", "hash", ""]

    static func document(depth: Int, random: inout SeededRandom) -> JSONValue {
        var members: [String: JSONValue] = [:]
        for _ in 0..<Int.random(in: 0...4, using: &random) {
            members[keys.randomElement(using: &random)!] = value(depth: depth + 1, random: &random)
        }
        return .object(members)
    }

    static func value(depth: Int, random: inout SeededRandom) -> JSONValue {
        switch Int.random(in: 0..<(depth < 4 ? 9 : 6), using: &random) {
        case 0: return .null
        case 1: return .integer(Int64.random(in: 0...3, using: &random))
        case 2: return .string(["x", "y", "unknown"].randomElement(using: &random)!)
        case 3: return .bool(Bool.random(using: &random))
        case 4: return .array([.integer(Int64.random(in: 0...1, using: &random))])
        case 5:
            return SecretValue(
                message: Data([UInt8.random(in: 0...1, using: &random)]),
                hash: ["aa", "bb"].randomElement(using: &random)!
            ).json
        case 6: return .object([:])
        default: return document(depth: depth, random: &random)
        }
    }

    /// `value` with a few members somewhere in it added, removed or replaced.
    static func edited(_ value: JSONValue, random: inout SeededRandom) -> JSONValue {
        guard case .object(var members) = value else { return value }
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let key = keys.randomElement(using: &random)!
            switch Int.random(in: 0..<4, using: &random) {
            case 0: members[key] = nil
            case 1: members[key] = Self.value(depth: 2, random: &random)
            default: if let child = members[key] { members[key] = edited(child, random: &random) }
            }
        }
        return .object(members)
    }
}
