import Foundation
import RookeryCore
import Testing

/// A flood of requests that fail before their signature verifies, against a real server process:
/// past its budget the flooding address is answered 429 with Retry-After before its body is
/// read, so the flood costs the server a bounded amount of CPU (read from /proc), while a device
/// at another address is served throughout.
@Suite(.serialized) struct UnverifiedFloodAttackTests {
    @Test func aFloodOfBadSignaturesIsCutOffPerAddress() throws {
        let sandbox = try Sandbox()
        // The attacker comes through a trusted proxy (127.0.0.1) as 198.51.100.7; the normal
        // device connects directly and is judged as 127.0.0.1.
        let server = try HostileInputAttackTests.server(
            sandbox, settings: "unverified_failures_per_minute: 5\ntrusted_proxies: [127.0.0.1/32]\n")
        let device = try NormalDevice(server: server, sandbox: sandbox)
        let request = try SignedRequest.make(
            endpoint: .submit, fields: ["submission_id": .string("x"), "plugins": .object([:])],
            host: device.client.name, fingerprint: device.fingerprint,
            signer: OpenPGP(homeDirectory: device.client.root + "/var/client/gnupg"))
        // A signature that does not verify, over a fresh body: each one is worth a gpg run.
        var signature = Array(request.signature)
        signature[signature.count - 1] ^= 0xFF
        let header = Data(signature).base64EncodedString()
        let answers = Locked([Int: Int]())

        // 5 s of 8 senders, each request with a fresh nonce; the server's whole cost under 2 s of
        // CPU (a few gpg runs, then lookups).
        _ = try HostileInputAttackTests.underAttack(server, device: device, parallel: 8, cpuBound: 2, seconds: 5) { _ in
            let body = Data(
                String(decoding: request.body, as: UTF8.self)
                    .replacingOccurrences(of: request.nonce, with: WireProtocol.makeNonce()).utf8)
            let answer = try postRaw(
                server.url, endpoint: "submit", body: body, signatureHeader: header,
                scratch: sandbox.path, headers: ["X-Forwarded-For: 198.51.100.7"])
            answers.withLock { $0[answer.status, default: 0] += 1 }
            try HostileInputAttackTests.require(answer.status == 401 || answer.status == 429, "\(answer.status) \(answer.body)")
            if answer.status == 429 {
                try HostileInputAttackTests.require(answer.body.contains("too_many_failures"), answer.body)
            }
        }
        let counts = answers.current
        print("UnverifiedFloodAttackTests: answers \(counts)")
        // The documented bound: the budget less one, the 8 requests that may be in flight at
        // once when the last is let in, and at most one more that drained during the attack.
        #expect((counts[401] ?? 0) <= 5 - 1 + 8 + 1, "\(counts)")
        #expect((counts[429] ?? 0) > 0, "\(counts)")

        // The 429 names when to come back. The budget forgets one failure every 12 s, so on a
        // slow machine the attack may have outlasted one and the next request is let in (and
        // counted): a second one is refused then.
        var last = ""
        for _ in 0..<2 where !last.hasPrefix("HTTP/1.1 429") {
            last = try rawHeaders(
                server.url, endpoint: "submit", body: request.body, signatureHeader: header,
                forwardedFor: "198.51.100.7", scratch: sandbox.path)
        }
        #expect(last.lowercased().contains("retry-after:"), "\(last)")
        #expect(last.hasPrefix("HTTP/1.1 429"), "\(last)")
    }

    /// Devices behind one NAT address, 100 requests in flight at once: the server holds them all
    /// before any body is whole, and none is answered 429, since a request costs the budget (60)
    /// nothing unless it fails.
    @Test func aHundredValidRequestsInFlightAtOnceFromOneAddressAllSucceed() throws {
        let sandbox = try Sandbox()
        let server = try HostileInputAttackTests.server(
            sandbox, settings: "unverified_failures_per_minute: 60\nmax_connections_per_address: 128\n")
        let device = try NormalDevice(server: server, sandbox: sandbox)
        let requests = try (0..<100).map { _ in try device.signedSubmission() }
        let heads = try Self.sendAtOnce(requests.map { ($0.body, $0.signatureHeaderValue) }, port: server.port, from: "127.0.0.1")
        let statuses = heads.map { $0?.split(separator: " ").dropFirst().first.map(String.init) ?? "none" }
        #expect(statuses.allSatisfy { $0 == "200" }, "\(Dictionary(grouping: statuses) { $0 }.mapValues(\.count))")
    }

    /// A burst of bad signatures from one address, all in flight at once: all are let in (the
    /// address had failed nothing yet) and all fail, as the documented bound allows (budget less
    /// one, plus the requests in flight). Then the address owes the burst: its requests are
    /// answered 429 with a Retry-After that pays back every failure past the budget, before their
    /// bodies are read (none is sent), while a device at another address is served.
    @Test func aBurstOfBadRequestsInParallelIsPaidBackByWaiting() throws {
        let sandbox = try Sandbox()
        let server = try HostileInputAttackTests.server(sandbox, settings: "unverified_failures_per_minute: 5\n")
        let device = try NormalDevice(server: server, sandbox: sandbox)
        let burst = 20
        let forged = try (0..<burst).map { _ in
            let request = try device.signedSubmission()
            var signature = Array(request.signature)
            signature[signature.count - 1] ^= 0xFF
            return (request.body, Data(signature).base64EncodedString())
        }
        let heads = try Self.sendAtOnce(forged, port: server.port, from: "127.0.0.9")
        #expect(heads.allSatisfy { $0?.hasPrefix("HTTP/1.1 401") == true }, "\(heads)")

        // 20 failures on a budget of 5 a minute: 16 must drain (20 + 1 - 5), one every 12 s.
        // Only heads are sent: an answer means the body was never waited for (the server would
        // wait up to request_timeout, 30 s, for it).
        let headsOnly = try forged.map { body, signature in
            let connection = try RawConnection(port: server.port, from: "127.0.0.9")
            #expect(connection.send(Self.head(body: body, signature: signature)))
            return connection
        }
        let deadline = Date().addingTimeInterval(10)
        for connection in headsOnly {
            let head = connection.answerHead(within: deadline.timeIntervalSinceNow) ?? "no answer in 10 s"
            #expect(head.hasPrefix("HTTP/1.1 429"), "\(head)")
            let retryAfter = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("retry-after:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) }
            #expect(retryAfter.map { (170...192).contains($0) } == true, "\(head)")
        }
        #expect(try device.submit().status == 200)
    }

    /// Sends each request on a connection of its own from `source`, all but the last byte of its
    /// body; once the server holds them all, the last bytes; returns each answer's status line
    /// and headers (nil: none within 30 s).
    static func sendAtOnce(_ requests: [(body: Data, signature: String)], port: Int, from source: String) throws -> [String?] {
        let connections = try requests.map { body, signature in
            let connection = try RawConnection(port: port, from: source)
            let text = head(body: body, signature: signature) + String(decoding: body, as: UTF8.self)
            #expect(connection.send(String(text.dropLast())))
            return connection
        }
        // Time for the server to read every head and start waiting for every body.
        usleep(1_000_000)
        for (connection, request) in zip(connections, requests) {
            #expect(connection.send(String(decoding: request.body.suffix(1), as: UTF8.self)))
        }
        // The answers wait in each socket's buffer, so reading one after another loses nothing.
        return connections.map { $0.answerHead(within: 30) }
    }

    /// A submission's request line and headers, as a client sends them.
    static func head(body: Data, signature: String) -> String {
        "POST /rookery/v1/submit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "\(WireProtocol.signatureHeader): \(signature)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
    }

    /// The status line and headers of one POST.
    func rawHeaders(
        _ serverURL: String, endpoint: String, body: Data, signatureHeader: String, forwardedFor: String,
        scratch: String
    ) throws -> String {
        let bodyFile = scratch + "/flood-\(UUID().uuidString.prefix(8)).json"
        try body.write(to: URL(fileURLWithPath: bodyFile))
        defer { try? FileManager.default.removeItem(atPath: bodyFile) }
        let result = try runProcess(
            "/usr/bin/curl",
            [
                "-s", "-D", "-", "-o", "/dev/null", "--max-time", "30", "-H", "Content-Type: application/json",
                "-H", "\(WireProtocol.signatureHeader): \(signatureHeader)", "-H", "X-Forwarded-For: \(forwardedFor)",
                "--data-binary", "@" + bodyFile, serverURL + "/rookery/v1/" + endpoint
            ], environment: [:])
        return result.stdout
    }
}
