import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// Fuzzes what a server reads before it knows who is asking (issue 13): the request body through
/// `JSONValue.parse` and `JSONValue.topLevelMembers`, the signature header through
/// `SignatureShape.check`, an enrollment's key through `PublicKeyShape.check`.
///
/// Random bytes and mutations (bit flips, byte inserts and deletes, duplicated chunks,
/// truncation, splices of two inputs) of real bodies, real signatures and real keys, for a fixed
/// time (`ROOKERY_FUZZ_SECONDS`, default 20) from a printed seed (`ROOKERY_FUZZ_SEED` repeats a
/// run). It asserts: no crash; every call returns within 10 s (a hang guard, not a speed test: a
/// busy CI machine is slow); resident memory grows by less than
/// 200 MB; both accepted and refused inputs were seen; and that `topLevelMembers` agrees with
/// `parse` on every body `parse` accepts. Then a few hostile shapes, on purpose.
@Suite(.serialized) struct RequestParserFuzzTests {
    static let maxCall: Duration = .seconds(10)
    static let maxGrowthBytes = 200 << 20

    let sandbox: Sandbox
    init() throws { sandbox = try Sandbox() }

    /// Real bodies, signatures and keys to mutate.
    struct Corpus {
        var bodies: [[UInt8]] = []
        var signatures: [[UInt8]] = []
        var keys: [[UInt8]] = []  // armored text
        var keyPackets: [[UInt8]] = []  // the same, binary
    }

    static let keeping: Set<String> = ["host", "key", "sent_at", "nonce", "public_key", "machine_id", "enrollment_token", "endpoint"]

    func makeCorpus() throws -> Corpus {
        let openPGP = OpenPGP(homeDirectory: sandbox.path + "/d")
        try openPGP.prepareHome()
        let fingerprint = try openPGP.generateSigningKey(userID: "fuzz device")
        let armored = try openPGP.exportPublicKey(fingerprint: fingerprint)
        let envelope: [String: JSONValue] = [
            "host": .string("web-1.example.org"), "key": .string(fingerprint),
            "sent_at": .string("2026-12-06T01:02:03Z"), "nonce": .string("0123456789abcdef0123456789abcdef")
        ]
        func body(_ extra: [String: JSONValue]) -> [UInt8] {
            Array(JSONValue.object(envelope.merging(extra) { $1 }).serialized())
        }
        let plugins: JSONValue = .object([
            "os": .object(["name": .string("Debian GNU/Linux"), "version": .string("12"), "kernel": .string("6.1.0-18-amd64")]),
            "disks": .object([
                "/": .object(["free_bytes": .integer(123_456_789_012), "used_percent": .number(41.5)]),
                "/home": .object(["free_bytes": .integer(0), "used_percent": .number(100)])
            ]),
            "users": .array([.string("alice"), .string("bob")]),
            "firewall": .object(["enabled": .bool(true), "rules": .null]),
            "screen_lock": .string("unknown"),
            "odd": .string("tab\tquote\"nl\n é 😀 \u{1}"),
            "empty": .object([:]), "list": .array([])
        ])
        var corpus = Corpus()
        corpus.bodies = [
            body([:]),
            body([
                "collections": .array([
                    .object([
                        "id": .string("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"), "collected_at": .string("2026-12-06T01:00:00Z"),
                        "document": .object(["plugins": plugins])
                    ])
                ])
            ]),
            body([
                "public_key": .string(armored), "machine_id": .string("4c4c4544003e3510804cb4c04f4e4a32"),
                "enrollment_token": .string("tok-0123456789abcdef")
            ]),
            body([
                "acknowledged": .array([.object(["target": .string("/etc/motd"), "sha256": .string(String(repeating: "ab", count: 32))])]),
                "command_results": .array([.object(["id": .integer(7), "exit": .integer(0), "output": .string("ok\n")])])
            ]),
            // Hand-written: whitespace, escapes, numbers of every form.
            Array(
                #"""
                { "host" : "web-2" , "key":"\#(fingerprint)", "sent_at":"2026-12-06T01:02:03Z",
                  "nonce":"00112233445566778899aabbccddeeff", "n":[0,-1,1.5,-2.5e-3,1E+9,9223372036854775807,9223372036854775808],
                  "s":"\"\\\/\b\f\n\r\t\u0041\u00e9\ud83d\ude00", "t":true,"f":false,"z":null, "o":{"a":{"b":{"c":[[[]]]}}} }
                """#.utf8)
        ]
        for payload in corpus.bodies + [[], Array("x".utf8), Array(repeating: 0x7B, count: 5000)] {
            corpus.signatures.append(Array(try openPGP.sign(Data(payload), fingerprint: fingerprint)))
        }
        corpus.keys = [Array(armored.utf8)]
        corpus.keyPackets = [dearmor(armored)]
        return corpus
    }

    @Test func fuzzRequestParsingAndShapes() throws {
        let environment = ProcessInfo.processInfo.environment
        let seconds = environment["ROOKERY_FUZZ_SECONDS"].flatMap(Double.init) ?? 20
        let seed = environment["ROOKERY_FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
        print("RequestParserFuzzTests: seed \(seed), \(seconds) s (ROOKERY_FUZZ_SEED=\(seed) repeats this run)")
        var rng = SeededRandom(seed: seed)
        let corpus = try makeCorpus()

        let guardian = Watchdog(seed: seed)
        defer { guardian.stop() }
        let baseline = residentBytes()
        var peak = baseline
        var counts = Counts()
        var slowest: Duration = .zero
        let deadline = ContinuousClock.now + .seconds(seconds)
        var iteration = 0

        while ContinuousClock.now < deadline {
            iteration += 1
            let choice = Int.random(in: 0..<100, using: &rng)
            let pristine = Int.random(in: 0..<10, using: &rng) == 0  // some inputs unchanged: the accepting path
            if choice < 45 {
                let input =
                    pristine
                    ? corpus.bodies.randomElement(using: &rng)!
                    : mutate(corpus.bodies.randomElement(using: &rng)!, other: corpus.bodies.randomElement(using: &rng)!, &rng)
                slowest = max(slowest, try checkBody(input, iteration: iteration, guardian: guardian, counts: &counts))
            } else if choice < 75 {
                let input =
                    pristine
                    ? corpus.signatures.randomElement(using: &rng)!
                    : mutate(corpus.signatures.randomElement(using: &rng)!, other: corpus.signatures.randomElement(using: &rng)!, &rng)
                slowest = max(slowest, checkSignature(input, iteration: iteration, guardian: guardian, counts: &counts))
            } else if choice < 95 {
                var input: [UInt8]
                if pristine {
                    input = corpus.keys[0]
                } else if Bool.random(using: &rng) {
                    // Mutate the packets and re-armor, so the mutation reaches the packet reader.
                    input = Array(armor(mutate(corpus.keyPackets[0], other: corpus.signatures.randomElement(using: &rng)!, &rng)).utf8)
                } else {
                    input = mutate(corpus.keys[0], other: corpus.keys[0], &rng)
                }
                slowest = max(slowest, checkKey(input, iteration: iteration, guardian: guardian, counts: &counts))
            } else {
                let input = (0..<Int.random(in: 0..<512, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                slowest = max(slowest, try checkBody(input, iteration: iteration, guardian: guardian, counts: &counts))
                slowest = max(slowest, checkSignature(input, iteration: iteration, guardian: guardian, counts: &counts))
                slowest = max(slowest, checkKey(input, iteration: iteration, guardian: guardian, counts: &counts))
            }
            if iteration % 512 == 0 { peak = max(peak, residentBytes()) }
        }
        peak = max(peak, residentBytes())

        print(
            "RequestParserFuzzTests: \(iteration) inputs; \(counts); slowest call \(slowest); "
                + "resident \(baseline >> 20) MB -> peak \(peak >> 20) MB")
        #expect(slowest < Self.maxCall)
        #expect(peak - baseline < Self.maxGrowthBytes, "resident memory grew by \((peak - baseline) >> 20) MB")
        #expect(iteration > 1000)
        // Both paths of every check were taken.
        #expect(counts.parse.accepted > 0 && counts.parse.refused > 0)
        #expect(counts.scan.accepted > 0 && counts.scan.refused > 0)
        #expect(counts.signature.accepted > 0 && counts.signature.refused > 0)
        #expect(counts.key.accepted > 0 && counts.key.refused > 0)
    }

    // MARK: - Hostile shapes, on purpose

    @Test func deepNesting() throws {
        func nested(_ depth: Int) -> Data { Data((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8) }
        try within { #expect(throws: Never.self) { try JSONValue.parse(nested(64)) } }
        try within { #expect(throws: JSONParseError.self) { try JSONValue.parse(nested(65)) } }
        try within { #expect(throws: JSONParseError.self) { try JSONValue.parse(Data(String(repeating: "[", count: 8 << 20).utf8)) } }
        // Under the top-level object, which is one level itself.
        func member(_ depth: Int) -> Data { Data(("{\"host\":\"a\",\"x\":" + String(data: nested(depth), encoding: .utf8)! + "}").utf8) }
        try within { #expect(throws: Never.self) { try JSONValue.topLevelMembers(of: member(63), keeping: Self.keeping) } }
        try within {
            #expect { try JSONValue.topLevelMembers(of: member(64), keeping: Self.keeping) } throws: { error in
                "\(error)".contains("nested deeper than 64")
            }
        }
        try within {
            let deep = Data(("{\"x\":" + String(repeating: "{\"a\":", count: 4 << 20)).utf8)
            #expect(throws: JSONParseError.self) { try JSONValue.topLevelMembers(of: deep, keeping: Self.keeping) }
        }
    }

    /// Issue 13's second attack: 8 MiB of `{"":0}`. Skipped, it is refused on `maxValues` without
    /// being built; the flat array of it on `maxMembers`.
    @Test func millionObjectsAreRefusedWithoutBuilding() throws {
        let element = Array(#"{"":0}"#.utf8)
        func arrayOf(_ count: Int) -> [UInt8] {
            var out: [UInt8] = [UInt8(ascii: "[")]
            out.reserveCapacity(count * 7 + 2)
            for index in 0..<count {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out += element
            }
            out.append(UInt8(ascii: "]"))
            return out
        }
        let inner = arrayOf(50_000)
        var nested: [UInt8] = Array(#"{"host":"web-1","x":["#.utf8)
        for index in 0..<20 {
            if index > 0 { nested.append(UInt8(ascii: ",")) }
            nested += inner
        }
        nested += Array("]}".utf8)
        let body = Data(nested)  // a million {"":0}, two million values
        #expect(body.count <= 8 << 20)

        let (error, growth) = try measured { try JSONValue.topLevelMembers(of: body, keeping: Self.keeping) }
        #expect("\(error.map { "\($0)" } ?? "accepted")".contains("more than 200000 values"))
        // Nothing built: the parser's memory is not proportional to what it skips.
        #expect(growth < 32 << 20, "topLevelMembers grew resident memory by \(growth >> 20) MB for a skipped member")

        let flat = Data(Array(#"{"host":"web-1","x":"#.utf8) + arrayOf(1_190_000) + Array("}".utf8))
        #expect(flat.count <= 8 << 20)
        let (flatError, flatGrowth) = try measured { try JSONValue.topLevelMembers(of: flat, keeping: Self.keeping) }
        #expect("\(flatError.map { "\($0)" } ?? "accepted")".contains("more than 200000 values"))
        #expect(flatGrowth < 32 << 20)

        // Built (a kept member, or a full parse), it stops at maxValues too; what it costs is
        // printed, and bounded.
        var kept: [UInt8] = Array(#"{"host":["#.utf8)
        for index in 0..<5 {
            if index > 0 { kept.append(UInt8(ascii: ",")) }
            kept += inner
        }
        kept += Array("]}".utf8)
        let (keptError, keptGrowth) = try measured { try JSONValue.topLevelMembers(of: Data(kept), keeping: Self.keeping) }
        #expect("\(keptError.map { "\($0)" } ?? "accepted")".contains("more than 200000 values"))
        let (parseError, parseGrowth) = try measured { try JSONValue.parse(body) }
        #expect("\(parseError.map { "\($0)" } ?? "accepted")".contains("more than 200000 values"))
        print(
            "RequestParserFuzzTests: resident growth: skipped \(growth >> 20) MB, flat \(flatGrowth >> 20) MB, "
                + "kept \(keptGrowth >> 20) MB (\(kept.count >> 10) KiB body), parse \(parseGrowth >> 20) MB (\(body.count >> 10) KiB body)")
        #expect(keptGrowth < 200 << 20)
        #expect(parseGrowth < 200 << 20)
    }

    @Test func longStringsWithManyEscapes() throws {
        func body(_ string: String) -> Data { Data(("{\"host\":\"a\",\"x\":\"" + string + "\"}").utf8) }
        // 500,000 escapes that unescape to 500,000 bytes: within the 1 MiB limit.
        let newlines = body(String(repeating: "\\n", count: 500_000))
        try within { #expect(throws: Never.self) { try JSONValue.topLevelMembers(of: newlines, keeping: Self.keeping) } }
        try within { #expect(throws: Never.self) { try JSONValue.parse(newlines) } }
        // \u00e9 is two bytes: 600,000 of them are over the limit.
        let accents = body(String(repeating: "\\u00e9", count: 600_000))
        let parsers: [() throws -> Void] = [
            { _ = try JSONValue.topLevelMembers(of: accents, keeping: Self.keeping) },
            { _ = try JSONValue.parse(accents) }
        ]
        for parse in parsers {
            try within { #expect { try parse() } throws: { "\($0)".contains("a string longer than 1048576 bytes") } }
        }
        let quotes = body(String(repeating: "\\\"", count: (1 << 20) + 1))
        try within {
            #expect { try JSONValue.topLevelMembers(of: quotes, keeping: Self.keeping) } throws: {
                "\($0)".contains("a string longer than 1048576 bytes")
            }
        }
        let pairs = body(String(repeating: "\\ud83d\\ude00", count: 262_144))  // exactly 1 MiB of 4-byte scalars
        try within { #expect(throws: Never.self) { try JSONValue.parse(pairs) } }
        let onePairMore = body(String(repeating: "\\ud83d\\ude00", count: 262_145))
        try within { #expect(throws: JSONParseError.self) { try JSONValue.parse(onePairMore) } }
        // A key too.
        let key = Data(("{\"" + String(repeating: "\\t", count: (1 << 20) + 1) + "\":1}").utf8)
        try within { #expect(throws: JSONParseError.self) { try JSONValue.topLevelMembers(of: key, keeping: Self.keeping) } }
    }

    // MARK: - Checks

    struct Tally: CustomStringConvertible {
        var accepted = 0, refused = 0
        var description: String { "\(accepted) accepted/\(refused) refused" }
    }

    struct Counts: CustomStringConvertible {
        var parse = Tally(), scan = Tally(), signature = Tally(), key = Tally()
        var description: String { "parse \(parse), topLevelMembers \(scan), signature \(signature), key \(key)" }
    }

    /// Both parsers; when `parse` accepts an object, `topLevelMembers` must accept it and keep
    /// exactly its members.
    fileprivate func checkBody(_ input: [UInt8], iteration: Int, guardian: Watchdog, counts: inout Counts) throws -> Duration {
        let data = Data(input)
        var parsed: JSONValue?
        let parseTime = guardian.time(input, iteration: iteration) {
            do {
                parsed = try JSONValue.parse(data)
                counts.parse.accepted += 1
            } catch { counts.parse.refused += 1 }
        }
        var scanned: [String: JSONValue]?
        let scanTime = guardian.time(input, iteration: iteration) {
            do {
                scanned = try JSONValue.topLevelMembers(of: data, keeping: Self.keeping)
                counts.scan.accepted += 1
            } catch { counts.scan.refused += 1 }
        }
        if case .object(let members)? = parsed {
            // Kept members that are strings come as they are, the others as null (present, not built).
            let expected = members.filter { Self.keeping.contains($0.key) }
                .mapValues { $0.stringValue != nil ? $0 : JSONValue.null }
            #expect(scanned == expected, "topLevelMembers disagrees with parse on \(data.base64EncodedString())")
        }
        return max(parseTime, scanTime)
    }

    fileprivate func checkSignature(_ input: [UInt8], iteration: Int, guardian: Watchdog, counts: inout Counts) -> Duration {
        guardian.time(input, iteration: iteration) {
            do {
                try SignatureShape.check(input)
                counts.signature.accepted += 1
                #expect(input.count <= SignatureShape.maxBytes)
            } catch { counts.signature.refused += 1 }
        }
    }

    fileprivate func checkKey(_ input: [UInt8], iteration: Int, guardian: Watchdog, counts: inout Counts) -> Duration {
        guardian.time(input, iteration: iteration) {
            let text = String(decoding: input, as: UTF8.self)
            do {
                try PublicKeyShape.check(armored: text)
                counts.key.accepted += 1
                #expect(text.utf8.count <= PublicKeyShape.maxArmoredBytes)
            } catch { counts.key.refused += 1 }
        }
    }

    /// Runs `body` (a hostile shape) under the one-second hang guard.
    func within(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let started = ContinuousClock.now
        try body()
        let took = ContinuousClock.now - started
        #expect(took < Self.maxCall, "took \(took)", sourceLocation: sourceLocation)
    }

    /// The error `body` threw (nil if none) and how far resident memory rose above where it was,
    /// sampled every millisecond while it ran.
    func measured<T>(_ body: () throws -> T) throws -> (Error?, Int) {
        releaseFreedMemory()  // what an earlier measurement freed must not hide what this one takes
        let before = residentBytes()
        let peak = Locked(before)
        let running = Locked(true)
        let sampler = Thread {
            while running.current {
                let now = residentBytes()
                peak.withLock { $0 = max($0, now) }
                usleep(1000)
            }
        }
        sampler.start()
        var failure: Error?
        let started = ContinuousClock.now
        do { _ = try body() } catch { failure = error }
        let took = ContinuousClock.now - started
        let after = residentBytes()
        running.withLock { $0 = false }
        #expect(took < Self.maxCall, "took \(took)")
        return (failure, max(peak.current, after) - before)
    }
}

// MARK: - Mutations

/// Bytes that matter to the parsers: JSON structure, escapes, UTF-8 edges, OpenPGP headers.
private let interesting: [UInt8] =
    Array("{}[]\",:\\u0-1e.tfn ".utf8) + [
        0x00, 0x0A, 0x1F, 0x7F, 0x80, 0xBF, 0xC0, 0xC3,
        0xE0, 0xED, 0xF0, 0xF4, 0xFF, 0x88, 0x89, 0x8B,
        0xC2, 0xC8, 0xA3, 0x04, 0x06, 0xBF, 0xDF
    ]

/// One to four mutations of `input`; `other` is what a splice takes its tail from.
private func mutate(_ input: [UInt8], other: [UInt8], _ rng: inout SeededRandom) -> [UInt8] {
    var bytes = input
    for _ in 0..<Int.random(in: 1...4, using: &rng) {
        let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
        switch Int.random(in: 0..<8, using: &rng) {
        case 0 where !bytes.isEmpty:  // bit flip
            bytes[position] ^= 1 << UInt8.random(in: 0...7, using: &rng)
        case 1:  // insert a byte
            let byte = Bool.random(using: &rng) ? interesting.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            bytes.insert(byte, at: min(position, bytes.count))
        case 2 where !bytes.isEmpty:  // delete a byte, or a run of them
            bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...8, using: &rng)))
        case 3 where !bytes.isEmpty:  // duplicate a chunk
            let end = min(bytes.count, position + Int.random(in: 1...64, using: &rng))
            let chunk = bytes[position..<end]
            let at = Int.random(in: 0...bytes.count, using: &rng)
            bytes.insert(contentsOf: Array(repeating: chunk, count: Int.random(in: 1...4, using: &rng)).joined(), at: at)
        case 4:  // truncate
            bytes.removeSubrange(position..<bytes.count)
        case 5:  // splice: a head of this one and a tail of the other
            let cut = other.isEmpty ? 0 : Int.random(in: 0..<other.count, using: &rng)
            bytes = Array(bytes[..<position]) + other[cut...]
        case 6 where !bytes.isEmpty:  // overwrite with an interesting byte
            bytes[position] = interesting.randomElement(using: &rng)!
        default:  // a random run
            let run = (0..<Int.random(in: 1...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            bytes.insert(contentsOf: run, at: min(position, bytes.count))
        }
        if bytes.count > 64 << 10 { bytes.removeSubrange((64 << 10)...) }
    }
    return bytes
}

private func dearmor(_ armored: String) -> [UInt8] {
    let body = armored.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.hasPrefix("-----") && !$0.hasPrefix("=") && !$0.contains(":") }.joined()
    return Array(Data(base64Encoded: body) ?? Data())
}

private func armor(_ bytes: [UInt8]) -> String {
    let text = Array(Data(bytes).base64EncodedString())
    let lines = stride(from: 0, to: text.count, by: 64).map { String(text[$0..<min($0 + 64, text.count)]) }
    return (["-----BEGIN PGP PUBLIC KEY BLOCK-----", ""] + lines + ["-----END PGP PUBLIC KEY BLOCK-----", ""]).joined(separator: "\n")
}

// MARK: - Guards

/// glibc's `malloc_trim(0)`, when there is one: gives freed heap memory back to the system.
private func releaseFreedMemory() {
    typealias Trim = @convention(c) (Int) -> Int32
    guard let symbol = dlsym(nil, "malloc_trim") else { return }
    _ = unsafeBitCast(symbol, to: Trim.self)(0)
}

/// VmRSS of this process, in bytes.
private func residentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kilobytes * 1024
}

/// Times each call; a call stuck for 30 s (a hang, not a slow call: those fail the 1 s bound)
/// stops the process with the seed, iteration and input that hung, so the run can be repeated.
private final class Watchdog: Sendable {
    private struct Current {
        var started: ContinuousClock.Instant?
        var iteration = 0
        var input: [UInt8] = []
    }
    private let current = Locked(Current())
    private let running = Locked(true)
    private let seed: UInt64

    init(seed: UInt64) {
        self.seed = seed
        let thread = Thread { [current, running, seed] in
            while running.current {
                sleep(1)
                let now = current.current
                if let started = now.started, ContinuousClock.now - started > .seconds(30) {
                    fatalError(
                        "RequestParserFuzzTests: a call hung (seed \(seed), iteration \(now.iteration)): "
                            + Data(now.input.prefix(65_536)).base64EncodedString())
                }
            }
        }
        thread.start()
    }

    func stop() { running.withLock { $0 = false } }

    func time(_ input: [UInt8], iteration: Int, _ body: () -> Void) -> Duration {
        let started = ContinuousClock.now
        current.withLock { $0 = Current(started: started, iteration: iteration, input: input) }
        body()
        current.withLock { $0.started = nil }
        let took = ContinuousClock.now - started
        if took >= RequestParserFuzzTests.maxCall {
            Issue.record("a call took \(took) (iteration \(iteration)): \(Data(input.prefix(4096)).base64EncodedString())")
        }
        return took
    }
}
