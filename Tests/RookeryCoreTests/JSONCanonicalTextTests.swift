import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// A device's plugins are stored as they came when `JSONCanonicalText.isCanonical` says they are
/// exactly what the server's writer writes for them (issue 15). Stored text reaches admins'
/// terminals and is compared byte by byte, so the check must never say yes to other text:
/// tested against the writer itself, on generated values and on mutations of their texts.
@Suite struct JSONCanonicalTextTests {
    static func isCanonical(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { JSONCanonicalText.isCanonical($0) }
    }

    /// What the check must agree with: the text is what the writer writes for its value.
    static func writerWrites(_ text: String) throws -> Bool {
        try JSONValue.parse(text).serializedString.utf8.elementsEqual(text.utf8)
    }

    @Test func neverSaysYesToTextTheWriterWouldWriteOtherwise() throws {
        var random = SeededRandom(seed: 20_261_206)
        var canonicalSeen = 0
        var mutantsChecked = 0
        var mutantsCanonical = 0
        var mutantsNot = 0
        for _ in 0..<4000 {
            let text = Self.value(depth: 0, random: &random).serializedString
            #expect(try Self.writerWrites(text))
            if Self.isCanonical(text) { canonicalSeen += 1 }
            for _ in 0..<4 {
                let mutant = Self.mutated(text, random: &random)
                guard (try? JSONValue.parse(mutant)) != nil else { continue }
                mutantsChecked += 1
                if Self.isCanonical(mutant) {
                    mutantsCanonical += 1
                    #expect(try Self.writerWrites(mutant), "said canonical: \(mutant.debugDescription)")
                } else if try !Self.writerWrites(mutant) {
                    mutantsNot += 1
                }
            }
        }
        // The fast path is taken for most of what a device writes, and the mutants were real.
        // Both kinds of mutant are common: edits that keep the writer's form, and edits that leave it.
        #expect(canonicalSeen > 2000)
        #expect(mutantsChecked > 6000)
        #expect(mutantsCanonical > 1000)
        #expect(mutantsNot > 1500)
    }

    @Test(arguments: [
        #"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
        #"{"a":"tab\there \"quoted\" back\\slash \u001b \u007f \u0085","b":-12,"c":""}"#,
        #"{"":0,"A":1,"a":2,"aa":3,"b":[]}"#,
        "{\"a\":\"caf\u{E9} \u{1F600}\"}"
    ])
    func theWritersOwnTextIsCanonical(_ text: String) throws {
        #expect(try Self.writerWrites(text))
        #expect(Self.isCanonical(text))
    }

    @Test(arguments: [
        #"{"b":1,"a":2}"#,  // keys out of order
        #"{"a": 1}"#, "{\"a\":1}\n", "[1, 2]",  // whitespace
        #"{"a":"\/"}"#, #"{"a":"\u0041"}"#,  // escapes the writer does not make
        #"{"a":"\b"}"#, #"{"a":"\u001B"}"#,  // another form of one it does make
        #"{"a":"\u00e9"}"#, #"{"a":"\ud83d\ude00"}"#,
        "{\"a\":\"\u{7F}\"}", "{\"a\":\"\u{85}\"}",  // DEL and a C1 control left raw
        #"{"a":1.0}"#, #"{"a":1e3}"#, #"{"a":-0}"#,  // numbers the writer writes otherwise
        #"{"a":9223372036854775807}"#,  // fits, but 19 digits are left to the writer
        "{\"\u{E9}\":1,\"z\":2}", #"{"a\"b":1}"#,
        // Ascending by bytes, but String's order (canonical equivalence: e + U+0301 is é) is the other way.
        "{\"e\u{301}x\":1,\"\u{E9}a\":2}"  // keys ordered by Unicode rules, or escaped
    ])
    func otherTextIsNot(_ text: String) throws {
        #expect(!Self.isCanonical(text), "\(text.debugDescription)")
    }

    @Test func anObjectSplicedFromCanonicalTextIsTheWritersText() throws {
        var random = SeededRandom(seed: 61)
        for _ in 0..<500 {
            guard case .object(var members) = Self.value(depth: 0, random: &random) else { continue }
            let inner = Self.value(depth: 1, random: &random)
            let key = Self.keys.randomElement(using: &random)!
            members[key] = nil
            let spliced = JSONCanonicalText.object(members, verbatim: [key: Array(inner.serializedString.utf8)])
            members[key] = inner
            #expect(spliced == Array(JSONValue.object(members).serializedString.utf8))
        }
    }

    // MARK: generated values and mutations

    static let keys = ["a", "b", "ab", "B", "", "z9", "caf\u{E9}", "k\"q", "\u{1F600}"]
    static let strings = [
        "", "x", "unknown", "tab\t", "nl\n", "q\"", "b\\", "\u{1B}[31m", "\u{7F}", "\u{85}",
        "caf\u{E9}", "\u{1F600}", "/path/to"
    ]

    static func value(depth: Int, random: inout SeededRandom) -> JSONValue {
        switch Int.random(in: 0..<(depth < 3 ? 10 : 7), using: &random) {
        case 0: return .null
        case 1: return .bool(random.bool())
        case 2: return .integer(random.pick([0, 1, -1, 42, -9_000_000_000, Int64.max, Int64.min, 999_999_999_999_999_999]))
        case 3: return .number(random.pick([0.5, -2.25, 1e300]))
        case 4, 5, 6: return .string(random.pick(strings))
        case 7: return .array((0..<Int.random(in: 0...3, using: &random)).map { _ in value(depth: depth + 1, random: &random) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &random) {
                // Mostly ASCII keys, as plugins write them.
                let key = random.next() % 4 == 0 ? random.pick(keys) : random.pick(Array(keys.prefix(6)))
                members[key] = value(depth: depth + 1, random: &random)
            }
            return .object(members)
        }
    }

    /// One edit that may keep the text valid JSON with the same value, or change the value:
    /// whitespace, an escape written another way, a raw control, a swapped pair of bytes.
    static func mutated(_ text: String, random: inout SeededRandom) -> String {
        var bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return text }
        let at = Int.random(in: 0..<bytes.count, using: &random)
        switch Int.random(in: 0..<7, using: &random) {
        case 0: bytes.insert(random.pick(Array(" \n\t\r".utf8)), at: at)
        case 1: bytes.replaceSubrange(at..<at, with: Array(random.pick([#"\/"#, #"\u0041"#, #"\u00e9"#, #"\u007F"#, #"\b"#]).utf8))
        case 2: bytes.replaceSubrange(at..<at, with: Array(random.pick(["\u{7F}", "\u{85}", "\u{E9}", "0", "-", ".5", "e2"]).utf8))
        case 3 where at + 1 < bytes.count: bytes.swapAt(at, at + 1)
        case 4: bytes[at] = random.pick(Array(#"{}[],:"0a\ "#.utf8))
        case 5:
            // Lower-case hex escapes to upper case, or the other way.
            if let range = text.range(of: #"\u00"#) {
                let offset = text.utf8.distance(from: text.startIndex, to: range.upperBound)
                if offset + 1 < bytes.count { bytes[offset + 1] = bytes[offset + 1] ^ 0x20 }
            }
        default: bytes.remove(at: at)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
