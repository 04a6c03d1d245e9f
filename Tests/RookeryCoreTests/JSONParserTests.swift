import Foundation
import RookeryCore
import Testing

@Suite struct JSONParserTests {
    func parse(_ text: String) throws -> JSONValue { try JSONValue.parse(Data(text.utf8)) }

    @Test func acceptsEveryKindOfValue() throws {
        let value = try parse(
            #" { "s": "a\"b\\c\/d\n\t\u00e9\ud83d\ude00", "i": -42, "big": 9223372036854775807,"#
                + #" "f": 2.5e-3, "over": 9223372036854775808, "t": true, "n": null, "a": [ ], "o": {} } "#)
        #expect(value["s"] == .string("a\"b\\c/d\n\té😀"))
        #expect(value["i"] == .integer(-42))
        #expect(value["big"] == .integer(Int64.max))
        #expect(value["f"] == .number(0.0025))
        #expect(value["over"] == .number(9_223_372_036_854_775_808))
        #expect(value["t"] == .bool(true))
        #expect(value["n"] == .null)
        #expect(value["a"] == .array([]))
        #expect(value["o"] == .object([:]))
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "'x'", "01", "1.", ".5", "1e", "-",
        "+1", "tru", "nul", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"a\u{01}b\"", "\"open",
        "1 2", "{\"a\":1}{}", "{\"a\":1,\"a\":2}", "NaN", "Infinity", "1e400"
    ])
    func refusesInvalidJSON(_ text: String) {
        #expect(throws: JSONParseError.self) { try parse(text) }
    }

    @Test func refusesInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Data([0x22, 0xC3, 0x28, 0x22])) }
    }

    @Test func limitsNesting() throws {
        let deep = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try parse(deep) }
        let tooDeep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect { try parse(tooDeep) } throws: { error in "\(error)".contains("nested deeper") }
    }

    @Test func writesSortedCompactAndRoundTrips() throws {
        let value = JSONValue.object([
            "z": .array([.integer(1), .number(0.5), .null]), "a": .string("quote\" back\\ nl\n ctl\u{01} é"),
            "m": .object(["y": .bool(false), "b": .bool(true)])
        ])
        let text = value.serializedString
        #expect(text == #"{"a":"quote\" back\\ nl\n ctl\u0001 é","m":{"b":true,"y":false},"z":[1,0.5,null]}"#)
        #expect(try parse(text) == value)
        // Foundation's parser reads what we write.
        let foundation = try JSONSerialization.jsonObject(with: value.serialized()) as? [String: Any]
        #expect(foundation?["a"] as? String == "quote\" back\\ nl\n ctl\u{01} é")
    }
}
