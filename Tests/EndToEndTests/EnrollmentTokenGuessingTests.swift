import Foundation
import RookeryCore
import Testing

/// Enrollment tokens on a real server: guessing one is throttled per address like a password (10
/// failures per address in five minutes, fixed), and a token under 128 bits stops the server and
/// the admin commands at start without showing it.
@Suite struct EnrollmentTokenGuessingTests {
    static let token = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"

    /// Fresh keys in one GnuPG home: a guesser needs a new key per guess, since a known key's
    /// enrollment is answered from the database without any compare.
    struct Keys {
        let openPGP: OpenPGP
        let fingerprints: [String]

        init(_ count: Int, sandbox: Sandbox) throws {
            let openPGP = OpenPGP(homeDirectory: try sandbox.directory("gk"))
            try openPGP.prepareHome()
            fingerprints = try (0..<count).map { try openPGP.generateSigningKey(userID: "guess \($0)") }
            self.openPGP = openPGP
        }

        func enrollment(_ index: Int, token: String) throws -> SignedRequest {
            let fingerprint = fingerprints[index]
            return try SignedRequest.make(
                endpoint: .enroll,
                fields: [
                    "public_key": .string(try openPGP.exportPublicKey(fingerprint: fingerprint)),
                    "machine_id": .string("machine-\(index)"), "enrollment_token": .string(token)
                ],
                host: "guess-\(index)", fingerprint: fingerprint, signer: openPGP)
        }
    }

    @Test func wrongTokensAreThrottledPerAddress() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        try sandbox.write(
            "listen_host: 127.0.0.1\nlisten_port: 0\nenrollment_tokens: [\"\(Self.token)\"]\n",
            to: "srv/server/settings.yml")
        try server.start()
        let keys = try Keys(12, sandbox: sandbox)
        let scratch = try sandbox.directory("curl")
        let guesser = LoopbackGuesser(server: server, source: "127.0.0.1", scratch: scratch)

        for index in 0..<10 {
            let wrong = String(format: "%032x", index)
            #expect(try guesser.post(try keys.enrollment(index, token: wrong)).status == 200, "wrong guess \(index) waits as pending")
        }
        // The eleventh is refused before its token is compared: even the right one.
        let refused = try guesser.post(try keys.enrollment(10, token: Self.token))
        #expect(refused.status == 429 && refused.seconds < 2, "\(refused)")
        #expect(try server.count("SELECT count(*) FROM devices WHERE state = 'accepted'") == 0)
        #expect(try server.count("SELECT count(*) FROM devices WHERE state = 'pending'") == 10)
        // Another address is not throttled.
        let other = LoopbackGuesser(server: server, source: "127.0.0.2", scratch: scratch)
        #expect(try other.post(try keys.enrollment(11, token: Self.token)).status == 200)
        #expect(try server.count("SELECT count(*) FROM devices WHERE state = 'accepted'") == 1)
    }

    @Test func weakTokensStopTheServerAndAdminCommandsWithoutShowingThem() throws {
        let sandbox = try Sandbox()
        let root = sandbox.path + "/srv"
        let weak = "letmein-2026"
        try sandbox.write(
            "listen_host: 127.0.0.1\nlisten_port: 0\nenrollment_tokens: [\"\(weak)\"]\n",
            to: "srv/server/settings.yml")
        var environment = ProcessInfo.processInfo.environment
        environment["ROOKERY_HOME"] = root
        // `timeout` ends a server that wrongly starts, so the test fails instead of hanging.
        let server = try runProcess(
            "/usr/bin/timeout", ["20", binaryDirectory + "/rookery", "server", "--port", "0"],
            environment: environment)
        let admin = try runBinary("rookery", ["clients", "list"], root: root)
        for ran in [server, admin] {
            #expect(ran.status == 64, "\(ran.stderr)")
            #expect(ran.stderr.contains("enrollment_tokens (entry 1 of 1): a token of at most 72 bits"), "\(ran.stderr)")
            #expect(!(ran.stdout + ran.stderr).contains(weak))
        }
    }
}
