import Foundation
import RookeryCore
import Testing

/// `DocumentLimits`: key bytes, path bytes and leaves, counted as the history pays for them
/// (escaped path segments, as `DocumentDiff.flatten` builds them).
@Suite struct DocumentLimitsTests {
    let limits = DocumentLimits()

    func refused(
        _ document: JSONValue, _ limits: DocumentLimits = DocumentLimits(), mentioning expected: [String],
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            let leaves = try limits.check(document)
            Issue.record("accepted (\(leaves) leaves); expected a refusal mentioning \(expected)", sourceLocation: sourceLocation)
        } catch let violation as DocumentLimits.Violation {
            for part in expected {
                #expect(violation.description.contains(part), "refused for another reason: \(violation)", sourceLocation: sourceLocation)
            }
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    /// `{"a0": 0, "a1": 0, ...}`
    func flat(_ leaves: Int) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: (0..<leaves).map { ("a\($0)", JSONValue.integer(0)) }))
    }

    @Test func defaults() {
        #expect(limits.maxKeyBytes == 256)
        #expect(limits.maxPathBytes == 1024)
        #expect(limits.maxLeaves == 20_000)
    }

    @Test func keyBytes() throws {
        let key = String(repeating: "k", count: 256)
        #expect(try limits.check(.object([key: .integer(1)])) == 1)
        #expect(try limits.check(.object(["a": .object([key: .integer(1)])])) == 1)
        refused(.object([key + "k": .integer(1)]), mentioning: ["257 bytes", "256", "max_key_bytes"])
        refused(.object(["a": .object(["b": .object([key + "k": .null])])]), mentioning: ["257 bytes", "max_key_bytes"])
        // Also the key of an empty object, which is a leaf.
        refused(.object([key + "k": .object([:])]), mentioning: ["max_key_bytes"])
        // In UTF-8 bytes, not characters.
        #expect(try limits.check(.object([String(repeating: "é", count: 128): .integer(1)])) == 1)
        refused(.object([String(repeating: "é", count: 129): .integer(1)]), mentioning: ["258 bytes", "max_key_bytes"])
    }

    /// A key is counted as its escaped path segment: `.` and `\` take two bytes, a control
    /// character its `\u{..}` form.
    @Test func escapedKeysCountEscaped() throws {
        #expect(DocumentDiff.escapeSegment("a.b") == "a\\.b")
        #expect(try limits.check(.object([String(repeating: ".", count: 128): .integer(1)])) == 1)
        refused(.object([String(repeating: ".", count: 129): .integer(1)]), mentioning: ["258 bytes", "max_key_bytes"])
        #expect(try limits.check(.object([String(repeating: "\\", count: 128): .integer(1)])) == 1)
        refused(.object([String(repeating: "\\", count: 129): .integer(1)]), mentioning: ["258 bytes", "max_key_bytes"])
        // "\u{1}" is five bytes escaped: 51 of them are 255, one more byte is 256, two are 257.
        let controls = String(repeating: "\u{1}", count: 51)
        #expect(try limits.check(.object([controls + "x": .integer(1)])) == 1)
        refused(.object([controls + "xy": .integer(1)]), mentioning: ["257 bytes", "max_key_bytes"])
        // What check counts is what flatten builds.
        let key = String(repeating: ".", count: 100) + String(repeating: "\u{7f}", count: 10)
        let path = try #require(DocumentDiff.flatten(.object([key: .integer(1)])).keys.first)
        var one = DocumentLimits()
        one.maxKeyBytes = path.utf8.count
        #expect(try one.check(.object([key: .integer(1)])) == 1)
        one.maxKeyBytes -= 1
        refused(.object([key: .integer(1)]), one, mentioning: ["\(path.utf8.count) bytes", "max_key_bytes"])
    }

    @Test func pathBytes() throws {
        let k200 = String(repeating: "p", count: 200)
        // Five keys of 200 bytes and four dots: 1004 bytes; a 19-byte key more makes 1024.
        func nested(_ keys: [String]) -> JSONValue {
            keys.reversed().reduce(JSONValue.integer(1)) { .object([$1: $0]) }
        }
        let five = Array(repeating: k200, count: 5)
        let atLimit = nested(five + [String(repeating: "q", count: 19)])
        #expect(try limits.check(atLimit) == 1)
        #expect(DocumentDiff.flatten(atLimit).keys.first?.utf8.count == 1024)
        let overLimit = nested(five + [String(repeating: "q", count: 20)])
        #expect(DocumentDiff.flatten(overLimit).keys.first?.utf8.count == 1025)
        refused(overLimit, mentioning: ["path", "1024 bytes"])
        // Escapes count in paths too: 19 dots are 38 bytes.
        refused(nested(five + [String(repeating: ".", count: 10)]), mentioning: ["path", "1024 bytes"])
        // Many short keys.
        refused(nested(Array(repeating: "a", count: 600)), mentioning: ["path", "1024 bytes"])
        #expect(try limits.check(nested(Array(repeating: "a", count: 512))) == 1)
    }

    /// The path limit is not a setting; its message names the bound, not a setting to raise.
    @Test func pathMessageNamesTheLimit() {
        let deep = Array(repeating: String(repeating: "p", count: 250), count: 5).reversed()
            .reduce(JSONValue.null) { .object([$1: $0]) }
        refused(deep, mentioning: ["a path of more than 1024 bytes"])
    }

    @Test func leaves() throws {
        #expect(try limits.check(flat(20_000)) == 20_000)
        refused(flat(20_001), mentioning: ["more than 20000 leaves", "max_document_leaves"])
        // Leaves anywhere in the tree; arrays and empty objects are leaves, a non-empty object is not.
        let mixed = JSONValue.object([
            "a": .object(["b": .array([.integer(1), .integer(2)]), "c": .object([:])]),
            "d": .null, "e": .object(["f": .object(["g": .string("x")])])
        ])
        #expect(try limits.check(mixed) == 4)
        #expect(try limits.check(mixed) == DocumentDiff.flatten(mixed).count)
        var three = DocumentLimits()
        three.maxLeaves = 3
        refused(mixed, three, mentioning: ["more than 3 leaves", "max_document_leaves"])
        #expect(try limits.check(.object([:])) == 0)
    }

    @Test func leavesSpreadOverObjects() throws {
        let spread = JSONValue.object(
            Dictionary(
                uniqueKeysWithValues: (0..<100).map { group in
                    ("g\(group)", JSONValue.object(Dictionary(uniqueKeysWithValues: (0..<201).map { ("l\($0)", JSONValue.bool(true)) })))
                }))
        refused(spread, mentioning: ["more than 20000 leaves", "max_document_leaves"])
        var more = DocumentLimits()
        more.maxLeaves = 20_100
        #expect(try more.check(spread) == 20_100)
    }

    /// Issue 13's third attack: 2,000 leaves under one 1 MB key would make 2,000 paths of 1 MB
    /// each if flattened. `check` refuses it on the key, at the top, without building paths.
    @Test func hugeKeyIsRefusedBeforeFlattening() throws {
        let bigKey = String(repeating: "K", count: 1_000_000)
        let leaves = (0..<2000).map { "\"l\($0)\":\($0)" }.joined(separator: ",")
        let body = Data(("{\"plugins\":{\"\(bigKey)\":{" + leaves + "}}}").utf8)
        let document = try JSONValue.parse(body)
        let started = ContinuousClock.now
        refused(document, mentioning: ["1000000 bytes", "max_key_bytes"])
        // A hang guard, generous: building the paths would take seconds and gigabytes.
        #expect(ContinuousClock.now - started < .seconds(2))
        // The same limit holds when the key is at the top.
        let top = try JSONValue.parse(Data(("{\"\(bigKey)\":{" + leaves + "}}").utf8))
        refused(top, mentioning: ["max_key_bytes"])
    }
}
