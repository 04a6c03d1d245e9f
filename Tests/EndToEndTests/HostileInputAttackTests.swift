import Foundation
import RookeryCore
import Testing

/// The attacks of issue 13 against a real server process over real HTTP, each with its bounded
/// outcome: refused quickly, the server's memory and CPU time (read from /proc) within a stated
/// bound, and a normal device's submission answered in under a second meanwhile.
@Suite(.serialized) struct HostileInputAttackTests {
    /// The server process may grow by this much while under attack: its own buffers for the
    /// requests in flight, never a multiple of what they ask it to build.
    static let memoryBound = 150 * 1024 * 1024
    /// The server with its helpers: besides its own growth, up to `verify_threads` (8)
    /// `rookery verify-worker` processes, started as gpg checks need them (verify_with: gpgme),
    /// each a process of the rookery binary (about 25 MiB resident in a debug build). A flood
    /// whose first 8 requests arrive at once starts all 8.
    static let treeMemoryBound = memoryBound + 8 * 32 * 1024 * 1024

    /// A started server with `settings` added to the harness's. Attacks and the normal device
    /// share 127.0.0.1, so the budgets for unverified failures and for enrollments (which would
    /// soon answer them all 429) are set out of reach unless `settings` sets them: each test
    /// measures the check it names.
    static func server(_ sandbox: Sandbox, settings: String = "") throws -> ServerProcess {
        let server = try ServerProcess(sandbox: sandbox)
        let budgets = ["unverified_failures_per_minute", "enrollments_per_minute"]
            .filter { !settings.contains($0) }.map { "\($0): 100000000\n" }.joined()
        try sandbox.write("listen_host: 127.0.0.1\nlisten_port: 0\n" + budgets + settings, to: "srv/server/settings.yml")
        try server.start()
        return server
    }

    /// Runs `attack` over and over on `parallel` threads at once, for `seconds`, while the normal
    /// device submits; returns what the device saw. The server's growth in memory and CPU over
    /// the attack is checked too.
    static func underAttack(
        _ server: ServerProcess, device: NormalDevice, parallel: Int, cpuBound: Double,
        seconds: Double = 3, _ attack: @escaping @Sendable (Int) throws -> Void
    ) throws -> [Double] {
        let before = ProcessTree.usage(of: server.pid)
        let serverBefore = ProcessTree.residentBytes(of: server.pid)
        let peak = Locked(before.residentBytes)
        let serverPeak = Locked(serverBefore)
        let failures = Locked([String]())
        let attacking = DispatchGroup()
        for index in 0..<parallel {
            attacking.enter()
            DispatchQueue.global().async {
                let until = Date().addingTimeInterval(seconds)
                do {
                    repeat { try attack(index) } while Date() < until
                } catch { failures.withLock { $0.append("\(error)") } }
                attacking.leave()
            }
        }
        var probes: [Double] = []
        var probesDuringTheAttack = 0
        repeat {
            usleep(100_000)
            peak.withLock { $0 = max($0, ProcessTree.usage(of: server.pid).residentBytes) }
            serverPeak.withLock { $0 = max($0, ProcessTree.residentBytes(of: server.pid)) }
            let probe = try device.submit()
            #expect(probe.status == 200, "the normal device's submission was answered \(probe.status)")
            probes.append(probe.seconds)
            if attacking.wait(timeout: .now()) == .timedOut { probesDuringTheAttack += 1 }
        } while attacking.wait(timeout: .now()) == .timedOut
        #expect(probesDuringTheAttack > 0, "the attack ended before the device was answered once")
        let after = ProcessTree.usage(of: server.pid)
        #expect(failures.current.isEmpty, "\(failures.current)")
        #expect(
            serverPeak.current - serverBefore < memoryBound,
            "the server's memory grew from \(serverBefore >> 20) MiB to \(serverPeak.current >> 20) MiB")
        #expect(
            peak.current - before.residentBytes < treeMemoryBound,
            "with its helpers, memory grew from \(before.residentBytes >> 20) MiB to \(peak.current >> 20) MiB")
        #expect(
            after.cpuSeconds - before.cpuSeconds < cpuBound,
            "the attack cost the server \(after.cpuSeconds - before.cpuSeconds) s of CPU")
        #expect(probes.allSatisfy { $0 < 1 }, "the normal device waited \(probes.max() ?? 0) s")
        print(
            "HostileInputAttackTests: memory +\((peak.current - before.residentBytes) >> 20) MiB (from \(before.residentBytes >> 20)),",
            "server alone +\((serverPeak.current - serverBefore) >> 20) MiB,",
            "CPU \(after.cpuSeconds - before.cpuSeconds) s, device answered in at most \(probes.max() ?? 0) s over \(probes.count) probes")
        return probes
    }

    /// 20,000 copies of one valid signature, deflated into one compressed OpenPGP packet (11 KB):
    /// gpg checked every copy (44 s) before refusing "more than one signature". Now a signature
    /// over 2048 bytes is refused before gpg runs, and so is any packet but one signature
    /// (4,000 copies deflate to under 2048 bytes, and still meant 9 s of gpg each).
    @Test(arguments: [(20_000, "longer than a signature of 2048 bytes"), (4_000, "type 8")])
    func aCompressedPacketOfSignaturesIsRefusedBeforeGPG(copies: Int, refusal: String) throws {
        let sandbox = try Sandbox()
        let server = try Self.server(sandbox)
        let device = try NormalDevice(server: server, sandbox: sandbox)
        let attacker = OpenPGP(homeDirectory: try sandbox.directory("g-x"))
        try attacker.prepareHome()
        let key = try attacker.generateSigningKey(userID: "attacker")
        let request = try SignedRequest.make(
            endpoint: .enroll,
            fields: [
                "public_key": .string(try attacker.exportPublicKey(fingerprint: key)),
                "machine_id": .string("attacker")
            ],
            host: "attacker", fingerprint: key, signer: attacker)
        let bomb = try Self.compressedPacket(repeating: request.signature, times: copies, scratch: sandbox.path)
        #expect(bomb.count < 12 * 1024)
        let header = bomb.base64EncodedString()

        // Each refusal within 2 s; 3 s of them from 4 senders cost the server under 3 s of CPU.
        _ = try Self.underAttack(server, device: device, parallel: 4, cpuBound: 3) { _ in
            do {
                let answer = try postRaw(
                    server.url, endpoint: "enroll", body: request.body,
                    signatureHeader: header, scratch: sandbox.path)
                try Self.require(answer.status == 401 && answer.body.contains("bad_signature"), "\(answer.status) \(answer.body)")
                try Self.require(answer.body.contains(refusal), "refused by the check named: \(answer.body)")
                try Self.require(answer.seconds < 2, "refused after \(answer.seconds) s")
            }
        }
        #expect(try server.count("SELECT count(*) FROM devices WHERE hostname = 'attacker'") == 0)
    }

    /// Four parallel 8 MiB bodies of `{"":0}` objects took the server from 43 MB to 1.6 GB before
    /// any key was looked at. Now the scan builds nothing but the envelope and stops at 200,000
    /// values (100,000 elements in one array); enrollments stop at 64 KiB.
    @Test func hugeBodiesOfTinyObjectsCostTheirOwnSizeAtMost() throws {
        let sandbox = try Sandbox()
        let server = try Self.server(sandbox)
        let device = try NormalDevice(server: server, sandbox: sandbox)
        var body = Data("{\"host\":\"x\",\"pad\":[".utf8)
        let tiny = Data("{\"\":0},".utf8)
        while body.count + tiny.count < 8 * 1024 * 1024 - 16 { body.append(tiny) }
        body.append(Data("{\"\":0}]}".utf8))
        let bomb = body

        _ = try Self.underAttack(server, device: device, parallel: 4, cpuBound: 6) { _ in
            do {
                let answer = try postRaw(
                    server.url, endpoint: "submit", body: bomb, signatureHeader: "AAAA",
                    scratch: sandbox.path)
                try Self.require(answer.status == 400 && answer.body.contains("more than 200000 values"), "\(answer.status) \(answer.body)")
                let enroll = try postRaw(
                    server.url, endpoint: "enroll", body: bomb, signatureHeader: "AAAA",
                    scratch: sandbox.path)
                try Self.require(enroll.status == 413, "\(enroll.status) \(enroll.body)")
            }
        }
    }

    /// One submission with a 1 MB key over 2,000 leaves cost 2 GB and 12 s in the history diff.
    /// Now keys, leaves and history rows are limited, and the device's history is pruned.
    @Test func aDocumentBuiltToBlowUpTheHistoryIsRefusedByItsLimit() throws {
        let sandbox = try Sandbox()
        let server = try Self.server(sandbox, settings: "history_rows_per_device: 30\nmax_document_leaves: 5000\n")
        let device = try NormalDevice(server: server, sandbox: sandbox)
        let longKey = String(repeating: "k", count: 1 << 20)
        let leaves = JSONValue.object(Dictionary(uniqueKeysWithValues: (0..<2000).map { ("leaf\($0)", JSONValue.integer(1)) }))
        let wide = JSONValue.object(Dictionary(uniqueKeysWithValues: (0..<6000).map { ("l\($0)", JSONValue.integer(1)) }))

        _ = try Self.underAttack(server, device: device, parallel: 2, cpuBound: 6) { index in
            do {
                let answer = try device.submit(plugins: index == 0 ? ["bomb": .object([longKey: leaves])] : ["wide": wide])
                try Self.require(answer.status == 400, "\(answer.status) \(answer.body)")
                try Self.require(answer.body.contains(index == 0 ? "max_key_bytes" : "max_document_leaves"), "\(answer.body)")
                try Self.require(answer.seconds < 5, "refused after \(answer.seconds) s")
            }
        }
        #expect(try server.count("SELECT count(*) FROM changes WHERE length(path) > 1024") == 0)

        // History: every submission changes 10 leaves; the device keeps its newest 30 rows.
        for round in 0..<6 {
            let values = Dictionary(uniqueKeysWithValues: (0..<10).map { ("v\($0)", JSONValue.integer(Int64(round))) })
            #expect(try device.submit(plugins: ["round": .object(values)]).status == 200)
        }
        #expect(try server.count("SELECT count(*) FROM changes") == 30)
        #expect(try server.count("SELECT count(*) FROM changes WHERE new = '5'") == 10)
    }

    /// A request replayed after the clock window is refused as stale before gpg is asked.
    @Test func aStaleRequestIsRefusedBeforeItsSignatureIsChecked() throws {
        let sandbox = try Sandbox()
        let server = try Self.server(sandbox)
        let device = try NormalDevice(server: server, sandbox: sandbox)
        let openPGP = OpenPGP(homeDirectory: device.client.root + "/var/client/gnupg")
        let old = try SignedRequest.make(
            endpoint: .submit, fields: ["submission_id": .string("old"), "plugins": .object([:])],
            host: device.client.name, fingerprint: device.fingerprint, signer: openPGP,
            now: Date().addingTimeInterval(-3600))
        // Its signature is made unverifiable: a stale time must be what refuses it, not gpg.
        var signature = Array(old.signature)
        signature[signature.count - 1] ^= 0xFF
        let answer = try postRaw(
            server.url, endpoint: "submit", body: old.body,
            signatureHeader: Data(signature).base64EncodedString(), scratch: sandbox.path)
        #expect(answer.status == 401 && answer.body.contains("stale_time"), "\(answer.status) \(answer.body)")
    }

    /// Attack threads cannot record expectations of the test: they fail by throwing.
    struct Refuted: Error, CustomStringConvertible { let description: String }

    static func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw Refuted(description: message()) }
    }

    /// A new-format compressed-data packet (tag 8, algorithm 1: raw deflate) of `payload`
    /// repeated `times` times.
    static func compressedPacket(repeating payload: Data, times: Int, scratch: String) throws -> Data {
        let plain = scratch + "/plain.bin"
        var repeated = Data(capacity: payload.count * times)
        for _ in 0..<times { repeated.append(payload) }
        try repeated.write(to: URL(fileURLWithPath: plain))
        guard try runProcess("/bin/gzip", ["-f", "-k", "-n", "-9", plain], environment: [:]).status == 0 else {
            throw SettingsError("gzip failed")
        }
        // gzip's own header is 10 bytes and its trailer 8: what is between is raw deflate.
        let gzipped = try Data(contentsOf: URL(fileURLWithPath: plain + ".gz"))
        let body = Data([1]) + gzipped.dropFirst(10).dropLast(8)
        var length = UInt32(body.count).bigEndian
        return Data([0xC8, 0xFF]) + Data(bytes: &length, count: 4) + body
    }
}
