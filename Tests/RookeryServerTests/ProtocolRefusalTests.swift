import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import RookeryCore
import Testing

@testable import RookeryServer

/// Every refusal of protocol v1 over real HTTP on 127.0.0.1: status, code, and the server keeps serving.
@Suite struct ProtocolRefusalTests {
    let sandbox: Sandbox
    let context: ServerContext
    let alice: TestDevice
    let bob: TestDevice

    init() async throws {
        sandbox = try Sandbox()
        context = try await makeServerContext(sandbox) { $0.maxBodyBytes = 64 * 1024 }
        alice = try TestDevice(sandbox, name: "alice")
        bob = try TestDevice(sandbox, name: "bob")
    }

    /// After any refusal a good submission must still be stored.
    func expectStillServing(_ client: some TestClientProtocol) async throws {
        let good = try alice.sign(.submit, TestDevice.submitFields(plugins: ["probe": .bool(true)]))
        let response = try await post(client, good)
        #expect(response.status == .ok)
        #expect(try await context.store.latestDocument(fingerprint: alice.fingerprint)?["plugins"]?["probe"] == .bool(true))
    }

    /// The shared `withServer` with both devices accepted, checking after each refusal that the
    /// server still stores a good submission.
    func withServer(_ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await RookeryServerTests.withServer(context, accepting: [alice, bob]) { client in
            try await test(client)
            try await expectStillServing(client)
        }
    }

    @Test func acceptedDeviceSubmissionIsStored() async throws {
        try await withServer { client in
            let request = try alice.sign(.submit, TestDevice.submitFields(id: "s1", plugins: ["os_info": .object(["id": .string("debian")])]))
            let response = try await post(client, request)
            #expect(response.status == .ok)
            let ack = try JSONDecoder().decode(SubmitAnswer.self, from: Data(buffer: response.body))
            #expect(ack.status == .stored && ack.submissionID == "s1")
            let document = try await context.store.latestDocument(fingerprint: alice.fingerprint)
            #expect(document?["plugins"]?["os_info"]?["id"] == .string("debian"))
            #expect(document?["submitted_at"]?.stringValue != nil)
        }
    }

    @Test func tamperedBodyIsRefused() async throws {
        try await withServer { client in
            let request = try alice.sign(.submit, TestDevice.submitFields(plugins: ["x": .integer(1)]))
            let tampered = Data(
                String(decoding: request.body, as: UTF8.self)
                    .replacingOccurrences(of: "\"x\":1", with: "\"x\":2").utf8)
            #expect(tampered != request.body)
            try expectRefusal(
                try await post(
                    client, endpoint: "submit", body: tampered,
                    signature: request.signatureHeaderValue), .badSignature)
        }
    }

    @Test func signatureByAnotherAcceptedKeyIsRefused() async throws {
        try await withServer { client in
            // Bob has submitted, so his key is in the server's keyring and his signature verifies:
            // only the check that the signer is the key the body names can refuse what follows.
            #expect(try await post(client, try bob.sign(.submit, TestDevice.submitFields(plugins: [:]))).status == .ok)
            // Bob signs a body that claims to come from Alice's key.
            let body = JSONValue.object(
                TestDevice.submitFields(plugins: ["x": .integer(1)]).merging([
                    "host": .string("alice"), "key": .string(alice.fingerprint),
                    "sent_at": .string(RFC3339.string(from: Date())), "nonce": .string(WireProtocol.makeNonce()), "endpoint": .string("submit")
                ]) { $1 }
            ).serialized()
            let signature = try bob.openPGP.sign(body, fingerprint: bob.fingerprint)
            try expectRefusal(
                try await post(
                    client, endpoint: "submit", body: body,
                    signature: signature.base64EncodedString()), .badSignature)
            #expect(try await context.store.latestDocument(fingerprint: alice.fingerprint) == nil)
        }
    }

    @Test func unknownKeyIsRefused() async throws {
        let stranger = try TestDevice(sandbox, name: "stranger")
        try await withServer { client in
            try expectRefusal(
                try await post(client, try stranger.sign(.submit, TestDevice.submitFields(plugins: [:]))),
                .unknownKey)
        }
    }

    @Test func staleTimeIsRefused() async throws {
        try await withServer { client in
            let old = try alice.sign(.submit, TestDevice.submitFields(plugins: [:]), now: Date().addingTimeInterval(-3600))
            try expectRefusal(try await post(client, old), .staleTime)
            let future = try alice.sign(.submit, TestDevice.submitFields(plugins: [:]), now: Date().addingTimeInterval(3600))
            try expectRefusal(try await post(client, future), .staleTime)
        }
    }

    @Test func replayedNonceIsRefused() async throws {
        try await withServer { client in
            let request = try alice.sign(.submit, TestDevice.submitFields(plugins: [:]))
            #expect(try await post(client, request).status == .ok)
            try expectRefusal(try await post(client, request), .replay)
        }
    }

    @Test func oversizeBodyIsRefused() async throws {
        try await withServer { client in
            let big = String(repeating: "a", count: 100 * 1024)
            let request = try alice.sign(.submit, TestDevice.submitFields(plugins: ["big": .string(big)]))
            try expectRefusal(try await post(client, request), .bodyTooLarge)
        }
    }

    @Test func malformedJSONIsRefused() async throws {
        try await withServer { client in
            let body = Data("{\"host\": \"alice\", ".utf8)
            let signature = try alice.openPGP.sign(body, fingerprint: alice.fingerprint)
            try expectRefusal(
                try await post(
                    client, endpoint: "submit", body: body,
                    signature: signature.base64EncodedString()), .malformed)
        }
    }

    @Test func missingSignatureHeaderIsRefused() async throws {
        try await withServer { client in
            let request = try alice.sign(.submit, TestDevice.submitFields(plugins: [:]))
            try expectRefusal(
                try await post(client, endpoint: "submit", body: request.body, signature: nil),
                .missingSignature)
        }
    }

    @Test func pendingAndRevokedDevicesAreRefused() async throws {
        let carol = try TestDevice(sandbox, name: "carol")
        try await withServer { client in
            #expect(try await post(client, try carol.sign(.enroll, try carol.enrollFields())).status == .ok)
            try expectRefusal(
                try await post(client, try carol.sign(.submit, TestDevice.submitFields(plugins: [:]))),
                .notAccepted)
            try await context.store.setState(.revoked, fingerprint: bob.fingerprint, at: Date())
            try expectRefusal(
                try await post(client, try bob.sign(.submit, TestDevice.submitFields(plugins: [:]))),
                .revoked)
            try expectRefusal(try await post(client, try bob.sign(.enroll, try bob.enrollFields())), .revoked)
        }
    }

    @Test func repeatedSubmissionIDIsAcknowledgedOnce() async throws {
        try await withServer { client in
            let fields = TestDevice.submitFields(id: "same-id", plugins: ["n": .integer(1)])
            #expect(try await post(client, try alice.sign(.submit, fields)).status == .ok)
            let again = try await post(client, try alice.sign(.submit, fields))
            #expect(again.status == .ok)
            let ack = try JSONDecoder().decode(SubmitAnswer.self, from: Data(buffer: again.body))
            #expect(ack.status == .duplicate)
            let history = try await context.store.history(fingerprint: alice.fingerprint, limit: 100)
            #expect(history.filter { $0.path == "plugins.n" }.count == 1)
        }
    }

    @Test func oversizeChunkedBodyIsRefusedWhileReading() async throws {
        try await withServer { client in
            // No Content-Length: the limit must hold while the body streams in.
            let request = try alice.sign(.submit, TestDevice.submitFields(plugins: ["big": .string(String(repeating: "a", count: 100 * 1024))]))
            let response = try await client.execute(
                uri: "/rookery/v1/submit", method: .post,
                headers: [
                    .transferEncoding: "chunked",
                    HTTPField.Name(WireProtocol.signatureHeader)!: request.signatureHeaderValue
                ],
                body: ByteBuffer(bytes: request.body))
            try expectRefusal(response, .bodyTooLarge)
        }
    }

    @Test func signatureHeaderThatIsNotBase64IsRefused() async throws {
        try await withServer { client in
            let request = try alice.sign(.submit, TestDevice.submitFields(plugins: [:]))
            try expectRefusal(
                try await post(client, endpoint: "submit", body: request.body, signature: "%%% not base64"),
                .badSignature)
        }
    }

    @Test func enrollmentWhosePublicKeyIsAnotherKeyIsRefused() async throws {
        let carol = try TestDevice(sandbox, name: "carol")
        try await withServer { client in
            // Carol signs, but ships Alice's public key.
            var fields = try carol.enrollFields()
            fields["public_key"] = .string(try alice.openPGP.exportPublicKey(fingerprint: alice.fingerprint))
            try expectRefusal(try await post(client, try carol.sign(.enroll, fields)), .badSignature)
            #expect(try await context.store.device(fingerprint: carol.fingerprint) == nil)
        }
    }

    /// Enrollment checks are anyone's to ask for: with both places taken, one more is turned
    /// away (503 busy) before any check, and goes through once a place is free.
    @Test func enrollmentBeyondTheChecksRunningIsAnsweredBusy() async throws {
        let carol = try TestDevice(sandbox, name: "carol")
        try await withServer { client in
            #expect(context.enrollmentChecks.enter() && context.enrollmentChecks.enter())
            #expect(!context.enrollmentChecks.enter())
            try expectRefusal(try await post(client, try carol.sign(.enroll, try carol.enrollFields())), .busy)
            #expect(try await context.store.device(fingerprint: carol.fingerprint) == nil)
            context.enrollmentChecks.leave()
            let response = try await post(client, try carol.sign(.enroll, try carol.enrollFields()))
            #expect(response.status == .ok)
            context.enrollmentChecks.leave()
        }
    }

    /// A replay within the window is refused by the nonce before its signature is checked: the
    /// copy's signature is spoiled, and still the answer is `replay`.
    @Test func aReplayIsRefusedBeforeItsSignatureIsChecked() async throws {
        let carol = try TestDevice(sandbox, name: "carol")
        try await withServer { client in
            let request = try carol.sign(.enroll, try carol.enrollFields())
            #expect(try await post(client, request).status == .ok)
            var spoiled = Array(request.signature)
            spoiled[spoiled.count - 1] ^= 0xFF
            try expectRefusal(
                try await post(
                    client, endpoint: "enroll", body: request.body,
                    signature: Data(spoiled).base64EncodedString()), .replay)
        }
    }

    /// A key block with a compressed packet in it never reaches gpg (which would unpack it).
    @Test func enrollmentWhoseKeyBlockHoldsACompressedPacketIsRefusedByItsShape() async throws {
        let carol = try TestDevice(sandbox, name: "carol")
        try await withServer { client in
            var fields = try carol.enrollFields()
            let armored = try carol.openPGP.exportPublicKey(fingerprint: carol.fingerprint)
            let base64 = armored.split(separator: "\n").filter { !$0.hasPrefix("-----") && !$0.hasPrefix("=") && !$0.isEmpty }.joined()
            let key = try #require(Data(base64Encoded: base64))
            // An empty deflate stream in a compressed-data packet (tag 8), after the real key.
            let withCompressed = key + Data([0xC8, 0x03, 0x01, 0x03, 0x00])
            fields["public_key"] = .string(
                "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + withCompressed.base64EncodedString()
                    + "\n-----END PGP PUBLIC KEY BLOCK-----\n")
            let response = try await post(client, try carol.sign(.enroll, fields))
            try expectRefusal(response, .badSignature)
            #expect(String(buffer: response.body).contains("type 8"))
            #expect(try await context.store.device(fingerprint: carol.fingerprint) == nil)
        }
    }

    @Test func enrollmentCarryingPrivateKeyMaterialIsRefused() async throws {
        let carol = try TestDevice(sandbox, name: "carol")
        try await withServer { client in
            var fields = try carol.enrollFields()
            fields["public_key"] = .string("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxxxx\n-----END PGP PRIVATE KEY BLOCK-----\n")
            try expectRefusal(try await post(client, try carol.sign(.enroll, fields)), .badSignature)
        }
    }

    @Test func rejectedDeviceIsRefusedOnBothEndpoints() async throws {
        let carol = try TestDevice(sandbox, name: "carol")
        try await withServer { client in
            #expect(try await post(client, try carol.sign(.enroll, try carol.enrollFields())).status == .ok)
            try await context.store.setState(.rejected, fingerprint: carol.fingerprint, at: Date())
            try expectRefusal(try await post(client, try carol.sign(.enroll, try carol.enrollFields())), .rejected)
            try expectRefusal(
                try await post(client, try carol.sign(.submit, TestDevice.submitFields(plugins: [:]))),
                .rejected)
        }
    }

    @Test func unknownEndpointIsNotFound() async throws {
        try await withServer { client in
            let request = try alice.sign(.submit, TestDevice.submitFields(plugins: [:]))
            try expectRefusal(
                try await post(
                    client, endpoint: "nope", body: request.body,
                    signature: request.signatureHeaderValue), .notFound)
        }
    }
}

/// Enrollment tokens accept devices without an admin, but never a device that looks like a clone.
@Suite struct EnrollmentTokenTests {
    @Test func tokenAcceptsButClashesWaitForAnAdmin() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox) { $0.enrollmentTokens = ["9c1d5e7f0a2b4c6d8e0f1a3b5c7d9e0f"] }
        let first = try TestDevice(sandbox, name: "laptop")
        let wrongToken = try TestDevice(sandbox, name: "desk")
        let sameName = try TestDevice(sandbox, name: "clone", host: "laptop")
        let app = try buildApplication(context: context, logger: quietLogger)
        try await app.test(.live) { client in
            func enroll(_ device: TestDevice, token: String, machineID: String? = nil) async throws -> EnrollAnswer {
                let request = try device.sign(.enroll, try device.enrollFields(machineID: machineID, token: token))
                let response = try await client.execute(
                    uri: "/rookery/v1/enroll", method: .post,
                    headers: [HTTPField.Name(WireProtocol.signatureHeader)!: request.signatureHeaderValue],
                    body: ByteBuffer(bytes: request.body))
                #expect(response.status == .ok)
                return try JSONDecoder().decode(EnrollAnswer.self, from: Data(buffer: response.body))
            }
            let accepted = try await enroll(first, token: "9c1d5e7f0a2b4c6d8e0f1a3b5c7d9e0f")
            let wrong = try await enroll(wrongToken, token: "9c1d5e7f0a2b4c6d8e0f1a3b5c7d9e0F")
            // Same hostname, different key: flagged and left pending despite the right token.
            let clash = try await enroll(sameName, token: "9c1d5e7f0a2b4c6d8e0f1a3b5c7d9e0f", machineID: "other-machine")
            #expect(accepted.status == .accepted)
            #expect(wrong.status == .pending)
            #expect(clash.status == .pending)
        }
        let flagged = try #require(try await context.store.device(fingerprint: sameName.fingerprint))
        #expect(flagged.flags.contains { $0.contains("hostname laptop is also used by key \(first.fingerprint)") })
        #expect(try await context.store.device(fingerprint: first.fingerprint)?.acceptedAt != nil)
    }

    @Test func aClonedMachineIDIsFlaggedEvenWithAToken() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox) { $0.enrollmentTokens = ["TqzR8w1mXv0b3NcY7sLk2Q"] }
        let now = Date()
        func candidate(_ fingerprint: String, host: String) -> Device {
            Device(
                fingerprint: fingerprint, publicKey: "k", hostname: host, machineID: "same-machine",
                state: .pending, enrolledAt: now)
        }
        let first = try await context.store.enroll(
            candidate(String(repeating: "A", count: 40), host: "one"),
            acceptUnlessFlagged: true)
        let clone = try await context.store.enroll(
            candidate(String(repeating: "B", count: 40), host: "two"),
            acceptUnlessFlagged: true)
        #expect(first.state == .accepted)
        #expect(clone.state == .pending)
        #expect(clone.flags == ["machine id is also used by key \(first.fingerprint) (one)"])
        // Enrolling a known key again changes nothing.
        let again = try await context.store.enroll(candidate(first.fingerprint, host: "renamed"), acceptUnlessFlagged: true)
        #expect(again.hostname == "one" && again.state == .accepted && again.flags.isEmpty)
    }
}

/// Strangers cannot fill the pending list: past the cap only token holders get in.
@Suite struct PendingCapTests {
    @Test func enrollmentsPastTheCapAreRefusedUnlessTheyHoldAToken() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox) {
            $0.maxPendingDevices = 1
            $0.enrollmentTokens = ["TqzR8w1mXv0b3NcY7sLk2Q"]
        }
        let devices = try ["one", "two", "three"].map { try TestDevice(sandbox, name: $0) }
        let app = try buildApplication(context: context, logger: quietLogger)
        try await app.test(.live) { client in
            func enroll(_ device: TestDevice, token: String? = nil) async throws -> TestResponse {
                let request = try device.sign(.enroll, try device.enrollFields(token: token))
                return try await client.execute(
                    uri: "/rookery/v1/enroll", method: .post,
                    headers: [HTTPField.Name(WireProtocol.signatureHeader)!: request.signatureHeaderValue],
                    body: ByteBuffer(bytes: request.body))
            }
            let first = try await enroll(devices[0])
            let second = try await enroll(devices[1])
            let withToken = try await enroll(devices[2], token: "TqzR8w1mXv0b3NcY7sLk2Q")
            #expect(first.status == .ok)
            #expect(second.status.code == 429)
            let refusal = try JSONDecoder().decode(ProtocolError.self, from: Data(buffer: second.body))
            #expect(refusal.error == .tooManyPending)
            #expect(withToken.status == .ok)
        }
        #expect(try await context.store.device(fingerprint: devices[1].fingerprint) == nil)
        #expect(try await context.store.device(fingerprint: devices[2].fingerprint)?.state == .accepted)
    }
}

/// The store re-checks the device's state inside the transaction that stores a submission.
@Suite struct StoreTests {
    @Test func aDeviceRevokedMeanwhileStoresNothing() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox)
        let key = String(repeating: "C", count: 40)
        _ = try await context.store.enroll(
            Device(
                fingerprint: key, publicKey: "k", hostname: "h", machineID: "m",
                state: .pending, enrolledAt: Date()), acceptUnlessFlagged: false)
        let submission = Submission(
            fingerprint: key, submissionID: "s1",
            document: .object(["plugins": .object([:])]), receivedAt: Date())
        #expect(try await context.store.store(submission) == .deviceNotAccepted(.pending))
        try await context.store.setState(.accepted, fingerprint: key, at: Date())
        #expect(try await context.store.store(submission) == .stored)
        try await context.store.setState(.revoked, fingerprint: key, at: Date())
        #expect(
            try await context.store.store(
                Submission(
                    fingerprint: key, submissionID: "s2",
                    document: .object([:]), receivedAt: Date()))
                == .deviceNotAccepted(.revoked))
        try await context.store.forget(fingerprint: key, at: Date())
        #expect(try await context.store.store(submission) == .deviceNotAccepted(nil))
        #expect(try await context.store.latestDocument(fingerprint: key) == nil)
    }
}

/// Every endpoint re-checks the device in the transaction that acts on it, and a submission's
/// history is bounded (issue 13).
@Suite struct StoreRecheckTests {
    static let key = String(repeating: "D", count: 40)

    static func acceptedDevice(_ context: ServerContext) async throws {
        _ = try await context.store.enroll(
            Device(
                fingerprint: key, publicKey: "k", hostname: "h", machineID: "m",
                state: .pending, enrolledAt: Date()), acceptUnlessFlagged: false)
        try await context.store.setState(.accepted, fingerprint: key, at: Date())
    }

    @Test func anUpdateOrAcknowledgementOfARevokedDeviceChangesNothing() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox)
        try await Self.acceptedDevice(context)
        let patch = try await context.store.queuePatch(
            Patch(
                fingerprint: Self.key, target: "client/plugins/x",
                action: .write, mode: 0o755, content: Data("x".utf8),
                state: .pending, createdAt: Date()))
        #expect(try await context.store.recordUpdateRequest(fingerprint: Self.key, release: 3)?.map(\.id) == [patch.id])
        try await context.store.setState(.revoked, fingerprint: Self.key, at: Date())
        #expect(try await context.store.recordUpdateRequest(fingerprint: Self.key, release: 4) == nil)
        #expect(try await context.store.device(fingerprint: Self.key)?.clientRelease == 3)
        #expect(
            try await !context.store.finishPatch(
                id: patch.id, fingerprint: Self.key, target: patch.target,
                state: .applied, message: "", at: Date(), byAcceptedDevice: true))
        // An administrator may still cancel it.
        #expect(
            try await context.store.finishPatch(
                id: patch.id, fingerprint: Self.key, target: patch.target,
                state: .cancelled, message: "", at: Date(), byAcceptedDevice: false))
    }

    @Test func aSubmissionOverTheHistoryLimitStoresNothingAndOldRowsArePruned() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox)
        try await Self.acceptedDevice(context)
        let policy = HistoryPolicy(maxRowsPerSubmission: 5, rowsPerDevice: 8)
        func submission(_ id: String, leaves: Int, value: Int64) -> Submission {
            let plugins = Dictionary(uniqueKeysWithValues: (0..<leaves).map { ("l\($0)", JSONValue.integer(value)) })
            return Submission(
                fingerprint: Self.key, submissionID: id, document: .object(["plugins": .object(plugins)]),
                receivedAt: Date())
        }
        // Six changed leaves: refused whole, and the id is free for a retry.
        #expect(try await context.store.store(submission("s1", leaves: 6, value: 1), history: policy) == .tooManyChanges(rows: 6))
        #expect(try await context.store.latestDocument(fingerprint: Self.key) == nil)
        #expect(try await context.store.store(submission("s1", leaves: 4, value: 1), history: policy) == .stored)
        #expect(try await context.store.store(submission("s2", leaves: 4, value: 2), history: policy) == .stored)
        #expect(try await context.store.store(submission("s3", leaves: 4, value: 3), history: policy) == .stored)
        let history = try await context.store.history(fingerprint: Self.key, limit: 100)
        #expect(history.count == 8)
        #expect(history.allSatisfy { $0.new == .integer(2) || $0.new == .integer(3) }, "the oldest rows went first")
    }
}
