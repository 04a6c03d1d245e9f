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
        let request = try SignedRequest.make(endpoint: .submit, fields: ["submission_id": .string("x"), "plugins": .object([:])],
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
            let body = Data(String(decoding: request.body, as: UTF8.self)
                .replacingOccurrences(of: request.nonce, with: WireProtocol.makeNonce()).utf8)
            let answer = try postRaw(server.url, endpoint: "submit", body: body, signatureHeader: header,
                                     scratch: sandbox.path, headers: ["X-Forwarded-For: 198.51.100.7"])
            answers.withLock { $0[answer.status, default: 0] += 1 }
            try HostileInputAttackTests.require(answer.status == 401 || answer.status == 429, "\(answer.status) \(answer.body)")
            if answer.status == 429 {
                try HostileInputAttackTests.require(answer.body.contains("too_many_failures"), answer.body)
            }
        }
        let counts = answers.current
        print("UnverifiedFloodAttackTests: answers \(counts)")
        // The budget (each request counted as it arrives), and at most one more that drained
        // back in during the attack.
        #expect((counts[401] ?? 0) <= 5 + 1, "\(counts)")
        #expect((counts[429] ?? 0) > 0, "\(counts)")

        // The 429 names when to come back.
        let last = try rawHeaders(server.url, endpoint: "submit", body: request.body, signatureHeader: header,
                                  forwardedFor: "198.51.100.7", scratch: sandbox.path)
        #expect(last.lowercased().contains("retry-after:"), "\(last)")
        #expect(last.hasPrefix("HTTP/1.1 429"), "\(last)")
    }

    /// The status line and headers of one POST.
    func rawHeaders(_ serverURL: String, endpoint: String, body: Data, signatureHeader: String, forwardedFor: String,
                    scratch: String) throws -> String {
        let bodyFile = scratch + "/flood-\(UUID().uuidString.prefix(8)).json"
        try body.write(to: URL(fileURLWithPath: bodyFile))
        defer { try? FileManager.default.removeItem(atPath: bodyFile) }
        let result = try runProcess("/usr/bin/curl", [
            "-s", "-D", "-", "-o", "/dev/null", "--max-time", "30", "-H", "Content-Type: application/json",
            "-H", "\(WireProtocol.signatureHeader): \(signatureHeader)", "-H", "X-Forwarded-For: \(forwardedFor)",
            "--data-binary", "@" + bodyFile, serverURL + "/rookery/v1/" + endpoint], environment: [:])
        return result.stdout
    }
}
