import Foundation
import RookeryCore
import Testing

/// `JSONLimits`: every bound accepted at its value and refused one past it, with its message; and
/// `JSONValue.topLevelMembers`, which checks a whole body but builds only what it keeps.
@Suite struct JSONLimitsTests {
    func limits(depth: Int = 64, string: Int = 1 << 20, members: Int = 100_000, values: Int = 200_000) -> JSONLimits {
        var limits = JSONLimits()
        limits.maxDepth = depth
        limits.maxStringBytes = string
        limits.maxMembers = members
        limits.maxValues = values
        return limits
    }

    func accepted(_ text: String, _ limits: JSONLimits, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(throws: Never.self, sourceLocation: sourceLocation) { try JSONValue.parse(Data(text.utf8), limits: limits) }
        #expect(throws: Never.self, sourceLocation: sourceLocation) { try JSONValue.parse(text, limits: limits) }
    }

    func refused(
        _ text: String, _ limits: JSONLimits, mentioning expected: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        for parse in [{ try JSONValue.parse(Data(text.utf8), limits: limits) }, { try JSONValue.parse(text, limits: limits) }] {
            do {
                _ = try parse()
                Issue.record("accepted; expected a refusal mentioning \"\(expected)\"", sourceLocation: sourceLocation)
            } catch let error as JSONParseError {
                #expect(error.reason.contains(expected), "refused for another reason: \(error)", sourceLocation: sourceLocation)
            } catch {
                Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
            }
        }
    }

    func scanRefused(
        _ text: String, keeping: Set<String> = ["host"], _ limits: JSONLimits = JSONLimits(),
        mentioning expected: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            let kept = try JSONValue.topLevelMembers(of: Data(text.utf8), keeping: keeping, limits: limits)
            Issue.record("accepted (kept \(kept)); expected a refusal mentioning \"\(expected)\"", sourceLocation: sourceLocation)
        } catch let error as JSONParseError {
            #expect(error.reason.contains(expected), "refused for another reason: \(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func defaultsAreTheDocumentedOnes() {
        let defaults = JSONLimits()
        #expect(defaults.maxDepth == 64)
        #expect(defaults.maxStringBytes == 1 << 20)
        #expect(defaults.maxMembers == 100_000)
        #expect(defaults.maxValues == 200_000)
    }

    // MARK: - Each limit, at it and one past it

    @Test func depth() {
        let limits = limits(depth: 4)
        accepted("[[[[]]]]", limits)
        accepted(#"{"a":{"b":{"c":{}}}}"#, limits)
        accepted(#"[{"a":[{"b":1}]}]"#, limits)
        refused("[[[[[]]]]]", limits, mentioning: "nested deeper than 4")
        refused(#"{"a":{"b":{"c":{"d":{}}}}}"#, limits, mentioning: "nested deeper than 4")
        refused(#"[{"a":[{"b":[]}]}]"#, limits, mentioning: "nested deeper than 4")
        // Refused where the limit is passed, long before the end of a very deep body.
        refused(String(repeating: "[", count: 1_000_000), limits, mentioning: "nested deeper than 4")
        // The default.
        accepted(String(repeating: "[", count: 64) + String(repeating: "]", count: 64), JSONLimits())
        refused(String(repeating: "[", count: 65) + String(repeating: "]", count: 65), JSONLimits(), mentioning: "nested deeper than 64")
    }

    @Test func stringBytes() {
        let limits = limits(string: 8)
        accepted(#""12345678""#, limits)
        refused(#""123456789""#, limits, mentioning: "a string longer than 8 bytes")
        // Counted in UTF-8 bytes after unescaping, for values and keys alike.
        accepted(#""éééé""#, limits)
        refused(#""ééééa""#, limits, mentioning: "a string longer than 8 bytes")
        accepted(#""\n\n\n\n\n\n\n\n""#, limits)
        refused(#""\n\n\n\n\n\n\n\n\n""#, limits, mentioning: "a string longer than 8 bytes")
        accepted(#""\u00e9\u00e9\u00e9\u00e9""#, limits)
        refused(#""\u00e9\u00e9\u00e9\u00e9\u00e9""#, limits, mentioning: "a string longer than 8 bytes")
        accepted(#""\ud83d\ude00\ud83d\ude00""#, limits)
        refused(#""\ud83d\ude00\ud83d\ude00x""#, limits, mentioning: "a string longer than 8 bytes")
        accepted(#"{"12345678":1}"#, limits)
        refused(#"{"123456789":1}"#, limits, mentioning: "a string longer than 8 bytes")
        refused(#"{"a\"bcdefgh":1}"#, limits, mentioning: "a string longer than 8 bytes")
        // Refused before the closing quote of a huge string is found.
        refused("\"" + String(repeating: "\\\\", count: 1 << 20) + "\"", limits, mentioning: "a string longer than 8 bytes")
    }

    @Test func members() {
        let limits = limits(members: 3)
        accepted(#"{"a":1,"b":2,"c":3}"#, limits)
        refused(#"{"a":1,"b":2,"c":3,"d":4}"#, limits, mentioning: "more than 3 members in one object")
        accepted("[1,2,3]", limits)
        refused("[1,2,3,4]", limits, mentioning: "more than 3 elements in one array")
        // Per container, not per document.
        accepted("[[1,2,3],[1,2,3],[1,2,3]]", limits)
        accepted(#"{"a":{"x":1,"y":2,"z":3},"b":[1,2,3]}"#, limits)
    }

    @Test func defaultMembers() {
        let elements = Array(repeating: "0", count: 100_000)
        accepted("[" + elements.joined(separator: ",") + "]", JSONLimits())
        refused("[" + (elements + ["0"]).joined(separator: ",") + "]", JSONLimits(), mentioning: "more than 100000 elements in one array")
    }

    @Test func values() {
        let limits = limits(values: 5)
        // Containers count: the array and its four elements.
        accepted("[1,2,3,4]", limits)
        refused("[1,2,3,4,5]", limits, mentioning: "more than 5 values")
        accepted(#"{"a":{"b":[1,"x"]}}"#, limits)
        refused(#"{"a":{"b":[1,"x",null]}}"#, limits, mentioning: "more than 5 values")
        accepted("[[],[],{},{}]", limits)
        refused("[[],[],{},{},[]]", limits, mentioning: "more than 5 values")
        // Keys are not values.
        accepted(#"{"a":1,"b":2,"c":3,"d":4}"#, limits)
    }

    // MARK: - topLevelMembers

    let body = #"""
        {"host":"web-1","key":"0123456789ABCDEF0123456789ABCDEF01234567","sent_at":"2026-01-02T03:04:05Z",
         "nonce":"00112233445566778899aabbccddeeff",
         "document":{"plugins":{"os":{"name":"Debian","version":[12,4]},"disk":{"free":12.5,"ok":true,"x":null}}},
         "queue":[{"id":"a"},{"id":"b"}]}
        """#

    @Test func keepsOnlyNamedMembers() throws {
        let kept = try JSONValue.topLevelMembers(of: Data(body.utf8), keeping: ["host", "nonce", "absent"])
        #expect(kept == ["host": .string("web-1"), "nonce": .string("00112233445566778899aabbccddeeff")])
        // Only strings are built: a named member of another type is checked, and kept as null
        // (present, but never built).
        let document = try JSONValue.topLevelMembers(of: Data(body.utf8), keeping: ["document", "queue", "host"])
        #expect(document == ["host": .string("web-1"), "document": .null, "queue": .null])
        #expect(try JSONValue.topLevelMembers(of: Data(body.utf8), keeping: []).isEmpty)
        #expect(try JSONValue.topLevelMembers(of: Data(" { } ".utf8), keeping: ["host"]).isEmpty)
    }

    @Test func refusesTopLevelDuplicateKeys() {
        scanRefused(#"{"host":"a","host":"b"}"#, mentioning: "duplicate key \"host\"")
        // Also a member that is not kept: two parsers must not disagree on the body.
        scanRefused(#"{"host":"a","x":1,"x":2}"#, mentioning: "duplicate key \"x\"")
        scanRefused(#"{"x":1,"host":"a","x":{}}"#, mentioning: "duplicate key \"x\"")
        // Keys equal after unescaping are the same key.
        scanRefused(#"{"host":"a","hos\u0074":"b"}"#, mentioning: "duplicate key \"host\"")
    }

    @Test(arguments: ["[1]", "\"host\"", "1", "null", "true", "", "   ", "[{\"host\":\"a\"}]"])
    func refusesNonObjects(_ text: String) {
        scanRefused(text, mentioning: "expected an object")
    }

    /// Skipped members are read to the end and checked like any other JSON.
    @Test(arguments: [
        (#"{"host":"a","x":[1,}"#, "unexpected character"),
        (#"{"host":"a","x":{"b":1,}}"#, "expected a key"),
        (#"{"host":"a","x":"\q"}"#, "unknown escape"),
        (#"{"host":"a","x":"\u12"}"#, "bad hex digit"),
        (#"{"host":"a","x":"\ud800"}"#, "lone surrogate"),
        ("{\"host\":\"a\",\"x\":\"a\u{01}b\"}", "control character in a string"),
        ("{\"host\":\"a\",\"x\":\"a\nb\"}", "control character in a string"),
        (#"{"host":"a","x":tru}"#, "unexpected character"),
        (#"{"host":"a","x":01}"#, "leading zero"),
        (#"{"host":"a","x":1e999}"#, "number out of range"),
        (#"{"host":"a","x":[1,2]"#, "expected ',' or '}'"),
        (#"{"host":"a","x":"open}"#, "unterminated string"),
        (#"{"host":"a","x":1} x"#, "unexpected content after the value"),
        (#"{"host":"a","x":1}{}"#, "unexpected content after the value"),
        (#"{"host":"a" "x":1}"#, "expected ',' or '}'"),
        (#"{"host":"a",x:1}"#, "expected a key")
    ])
    func refusesInvalidJSONInSkippedMembers(_ text: String, _ reason: String) {
        scanRefused(text, mentioning: reason)
    }

    @Test func refusesInvalidUTF8InSkippedMembers() {
        let bytes = Data(#"{"host":"a","x":""#.utf8) + Data([0xC3, 0x28]) + Data(#""}"#.utf8)
        #expect { try JSONValue.topLevelMembers(of: bytes, keeping: ["host"]) } throws: { error in
            (error as? JSONParseError)?.reason.contains("invalid UTF-8") == true
        }
        let inKey = Data(#"{"host":"a",""#.utf8) + Data([0xFF]) + Data(#"":1}"#.utf8)
        #expect(throws: JSONParseError.self) { try JSONValue.topLevelMembers(of: inKey, keeping: ["host"]) }
    }

    @Test func limitsHoldInSkippedMembers() {
        scanRefused(#"{"host":"a","x":[[[[]]]]}"#, limits(depth: 4), mentioning: "nested deeper than 4")
        #expect(throws: Never.self) {
            try JSONValue.topLevelMembers(of: Data(#"{"host":"a","x":[[[]]]}"#.utf8), keeping: ["host"], limits: limits(depth: 4))
        }
        scanRefused(#"{"host":"a","x":"123456789"}"#, limits(string: 8), mentioning: "a string longer than 8 bytes")
        scanRefused(#"{"host":"a","123456789":1}"#, limits(string: 8), mentioning: "a string longer than 8 bytes")
        scanRefused(#"{"host":"a","x":[1,2,3,4]}"#, limits(members: 3), mentioning: "more than 3 elements in one array")
        scanRefused(#"{"host":"a","x":{"a":1,"b":2,"c":3,"d":4}}"#, limits(members: 3), mentioning: "more than 3 members in one object")
        scanRefused(#"{"host":"a","b":1,"c":2,"d":3}"#, limits(members: 3), mentioning: "more than 3 members in one object")
    }

    /// Values in skipped members are counted, though never built.
    @Test func countsValuesInSkippedMembers() throws {
        let limits = limits(values: 10)
        // Within the limit however the object itself is counted (see scanCountsValuesAsParseDoes).
        let within = #"{"host":"a","x":[1,2,3,4,5,6,7]}"#
        #expect(try JSONValue.topLevelMembers(of: Data(within.utf8), keeping: ["host"], limits: limits) == ["host": .string("a")])
        scanRefused(#"{"host":"a","x":[1,2,3,4,5,6,7,8,9]}"#, limits, mentioning: "more than 10 values")
        scanRefused(#"{"host":"a","x":[[1,2],{"a":[3,4,5]},6,7]}"#, limits, mentioning: "more than 10 values")
        scanRefused(#"{"x":[1,2,3,4,5,6,7,8,9],"host":"a"}"#, limits, mentioning: "more than 10 values")
        // The default: a million values in a skipped member.
        let million =
            "{\"host\":\"a\",\"x\":["
            + Array(
                repeating: "[" + Array(repeating: "0", count: 1000).joined(separator: ",") + "]",
                count: 1000
            ).joined(separator: ",") + "]}"
        scanRefused(million, JSONLimits(), mentioning: "more than 200000 values")
    }

    /// "Values in the whole document, containers included": the object around the members is one
    /// of them for `parse`, so a body that `parse` refuses on `maxValues` should not pass the scan.
    @Test func scanCountsValuesAsParseDoes() throws {
        let limits = limits(values: 10)
        let body = Data(#"{"host":"a","x":[1,2,3,4,5,6,7,8]}"#.utf8)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(body, limits: limits) }
        #expect(throws: JSONParseError.self) { try JSONValue.topLevelMembers(of: body, keeping: ["host"], limits: limits) }
    }
}
