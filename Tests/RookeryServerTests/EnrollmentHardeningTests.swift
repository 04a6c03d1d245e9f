import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RookeryCore
import Testing

@testable import RookeryServer

extension TestDevice {
    /// `count` devices whose keys share one GnuPG home (one gpg-agent, not one per key).
    static func many(_ count: Int, in sandbox: Sandbox, name: String) throws -> [TestDevice] {
        let openPGP = OpenPGP(homeDirectory: try sandbox.directory("g-" + name))
        try openPGP.prepareHome()
        return try (0..<count).map { index in
            TestDevice(
                openPGP: openPGP, fingerprint: try openPGP.generateSigningKey(userID: "test \(name) \(index)"),
                host: "\(name)-\(index)")
        }
    }

    private init(openPGP: OpenPGP, fingerprint: String, host: String) {
        self.openPGP = openPGP
        self.fingerprint = fingerprint
        self.host = host
    }
}

/// Enrollment against guessing and re-use: forgotten revoked keys, hostname clashes whatever
/// their case, token compares throttled per address, weak tokens refused at start.
@Suite struct EnrollmentHardeningTests {
    static let token = "4b1f9e0c7d2a5b8e3f6a9c0d1e2f3a4b"

    static func enroll(
        _ client: some TestClientProtocol, _ device: TestDevice,
        token: String? = nil
    ) async throws -> TestResponse {
        let request = try device.sign(.enroll, try device.enrollFields(token: token))
        return try await post(client, request)
    }

    static func status(_ response: TestResponse) throws -> String {
        try JSONDecoder().decode(EnrollAnswer.self, from: Data(buffer: response.body)).status.rawValue
    }

    @Test func aRevokedThenForgottenKeyWaitsForAnAdminWhateverTokenItBrings() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox) { $0.enrollmentTokens = [Self.token] }
        let admin = DeviceAdmin(store: context.store, deviceKeys: context.keyring.openPGP)
        let stolen = try TestDevice(sandbox, name: "stolen")
        let renamed = try TestDevice(sandbox, name: "renamed")
        let forgottenAt = try #require(RFC3339.date(from: "2026-11-02T10:00:00Z"))
        let app = try buildApplication(context: context, logger: quietLogger)
        try await app.test(.live) { client async throws in
            for device in [stolen, renamed] {
                #expect(try Self.status(try await Self.enroll(client, device, token: Self.token)) == "accepted")
            }
            _ = try await admin.change(stolen.fingerprint, to: .revoked)
            _ = try await admin.forget(stolen.fingerprint, now: forgottenAt)
            // Forgotten without being revoked: it may come back as before.
            _ = try await admin.forget(renamed.fingerprint, now: forgottenAt)

            #expect(try Self.status(try await Self.enroll(client, stolen, token: Self.token)) == "pending")
            #expect(try Self.status(try await Self.enroll(client, renamed, token: Self.token)) == "accepted")
        }
        let back = try #require(try await context.store.device(fingerprint: stolen.fingerprint))
        #expect(back.state == .pending)
        #expect(
            back.flags == [
                "this key was revoked, then forgotten on 2026-11-02T10:00:00Z; "
                    + "accept it only if the device is trusted again"
            ])
    }

    @Test func hostnamesClashWhateverTheirCaseAndTrailingDot() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox)
        func enroll(_ fingerprint: Character, host: String) async throws -> Device {
            try await context.store.enroll(
                Device(
                    fingerprint: String(repeating: fingerprint, count: 40), publicKey: "k", hostname: host,
                    machineID: "machine-\(fingerprint)", state: .pending, enrolledAt: Date()),
                acceptUnlessFlagged: true)
        }
        let first = try await enroll("A", host: "laptop.example")
        let shouting = try await enroll("B", host: "Laptop.EXAMPLE.")
        let longer = try await enroll("C", host: "laptop.example.org")
        #expect(first.state == .accepted)
        #expect(shouting.state == .pending)
        #expect(shouting.flags == ["hostname Laptop.EXAMPLE. is also used, written laptop.example, by key \(first.fingerprint)"])
        #expect(longer.state == .accepted && longer.flags.isEmpty)
    }

    @Test func clashFlagsFoldCaseAndTrailingDots() {
        func device(_ fingerprint: String, _ host: String, machine: String) -> Device {
            Device(
                fingerprint: fingerprint, publicKey: "k", hostname: host, machineID: machine,
                state: .pending, enrolledAt: Date())
        }
        let mine = device("A", "db1.example.", machine: "m1")
        #expect(
            mine.clashFlags(with: [device("B", "DB1.example", machine: "m2")])
                == ["hostname db1.example. is also used, written DB1.example, by key B"])
        #expect(mine.clashFlags(with: [device("C", "db1.example.", machine: "m3")]) == ["hostname db1.example. is also used by key C"])
        #expect(mine.clashFlags(with: [device("D", "db2.example", machine: "m1")]) == ["machine id is also used by key D (db2.example)"])
        #expect(Device.clashName(of: "Host.Example..") == "host.example")
    }

    /// The limit is 10 failures per address (per /64 for IPv6) in five minutes, shared with
    /// endpoint_auth's passwords.
    @Test func wrongTokensAreThrottledPerAddressBeforeAnyCompare() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox) { $0.enrollmentTokens = [Self.token] }
        let devices = try TestDevice.many(12, in: sandbox, name: "guess")
        let app = try buildApplication(context: context, logger: quietLogger)
        try await app.test(.live) { client async throws in
            for device in devices[0..<10] {
                let response = try await Self.enroll(client, device, token: "00000000000000000000000000000000")
                #expect(try Self.status(response) == "pending")
            }
            // Even the right token is not compared any more from this address, and nothing from
            // it is enrolled at all (or checked by gpg) until the window has passed.
            try expectRefusal(try await Self.enroll(client, devices[10], token: Self.token), .tooManyFailures)
            try expectRefusal(try await Self.enroll(client, devices[11]), .tooManyFailures)
        }
        #expect(try await context.store.device(fingerprint: devices[10].fingerprint) == nil)
        #expect(try await context.store.device(fingerprint: devices[11].fingerprint) == nil)
    }

    @Test func aRightTokenGivesItsCountBack() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox) { $0.enrollmentTokens = [Self.token] }
        let devices = try TestDevice.many(12, in: sandbox, name: "mixed")
        let app = try buildApplication(context: context, logger: quietLogger)
        try await app.test(.live) { client async throws in
            for device in devices[0..<9] {
                #expect(try Self.status(try await Self.enroll(client, device, token: "wrong")) == "pending")
            }
            #expect(try Self.status(try await Self.enroll(client, devices[9], token: Self.token)) == "accepted")
            #expect(try Self.status(try await Self.enroll(client, devices[10], token: "wrong")) == "pending")
            try expectRefusal(try await Self.enroll(client, devices[11], token: Self.token), .tooManyFailures)
        }
    }
}

/// Enrollment tokens under 128 bits stop the server and the admin commands at start.
@Suite struct EnrollmentTokenStrengthTests {
    @Test(arguments: [
        ("4b1f9e0c7d2a5b8e3f6a9c0d1e2f3a4b", 128.0),  // openssl rand -hex 16
        ("CPpTdeD/orb6fwzRJphWLA==", 132.0),  // head -c 16 /dev/urandom | base64
        ("7t-Bd0cynnTRtZjfk4v2Pg", 132.0),  // URL-safe base64
        ("12345678901234567890123456789012", 32 * log2(10.0)),  // decimal digits
        ("correct horse battery staple", 28 * 6.0),  // anything else: at most 6 bits
        ("", 0.0)
    ])
    func bitsAreCountedFromTheAlphabet(_ token: String, _ bits: Double) {
        #expect(abs(EnrollmentTokenStrength.bits(of: token) - bits) < 0.001)
    }

    @Test func weakTokensAreRefusedNamingTheSettingButNeverTheToken() async throws {
        let sandbox = try Sandbox()
        func refusal(_ configure: @escaping (inout ServerSettings) -> Void) async -> String? {
            do {
                _ = try await makeServerContext(sandbox, configure: configure)
                return nil
            } catch { return "\(error)" }
        }
        let weak = "4b1f9e0c7d2a5b8e3f6a9c0d1e2f3a4"  // 31 hex digits: 124 bits
        let message = try #require(await refusal { $0.enrollmentTokens = [EnrollmentHardeningTests.token, weak] })
        #expect(message.contains("enrollment_tokens (entry 2 of 2)"))
        #expect(message.contains("at most 124 bits") && message.contains("openssl rand -hex 16"))
        #expect(!message.contains(weak))
        let client = try #require(await refusal { $0.clientEnrollmentToken = "s3cret-token" })
        #expect(client.hasPrefix("client_enrollment_token:") && !client.contains("s3cret-token"))
        #expect(await refusal { $0.enrollmentTokens = [""] }?.contains("enrollment_tokens (entry 1 of 1)") == true)
        #expect(
            await refusal {
                $0.enrollmentTokens = ["CPpTdeD/orb6fwzRJphWLA=="]
                $0.clientEnrollmentToken = ""
            } == nil)
    }
}
