import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// Each endpoint's message survives the trip through its members and the strict parse, and a
/// body the endpoint cannot use is refused naming the field.
@Suite struct RequestMessageTests {
    /// Serialized and parsed as the server does, then read as `M`.
    func roundTrip<M: RequestMessage>(_ message: M) throws -> M {
        let body = JSONValue.object(message.fields).serialized()
        guard case .object(let members) = try JSONValue.parse(body) else { throw ProtocolError(.malformed, "not an object") }
        return try M(fields: MessageFields(members))
    }

    @Test func everyMessageRoundTrips() throws {
        let enroll = EnrollRequest(publicKey: "-----BEGIN PGP PUBLIC KEY BLOCK-----", machineID: "m-1", enrollmentToken: "t")
        #expect(try roundTrip(enroll) == enroll)
        let submit = SubmitRequest(
            submissionID: "s.1", plugins: ["os": .object(["id": .string("debian")])],
            commands: ["c": .integer(0)], collectedAt: "2026-12-06T01:02:03Z",
            settingsProblem: "bad yaml", release: 7)
        #expect(try roundTrip(submit) == submit)
        #expect(try roundTrip(UpdateRequest(release: 0, commandsAllowed: false)) == UpdateRequest(release: 0, commandsAllowed: false))
        #expect(try roundTrip(ReleaseRequest(release: 3)) == ReleaseRequest(release: 3))
        let ack = AcknowledgePatchRequest(patchID: 9, target: "client/plugins/x", result: .refused, message: "no")
        #expect(try roundTrip(ack) == ack)
    }

    @Test(arguments: [
        (["plugins": JSONValue.object([:])], "submission_id"),
        (["submission_id": .string("a b"), "plugins": .object([:])], "submission_id"),
        (["submission_id": .string("s"), "plugins": .array([])], "plugins"),
        (["submission_id": .string("s"), "plugins": .object([:]), "commands": .string("x")], "commands"),
        (["submission_id": .string("s"), "plugins": .object([:]), "settings_problem": .integer(1)], "settings_problem")
    ])
    func aSubmissionTheServerCannotStoreIsMalformed(members: [String: JSONValue], field: String) {
        #expect {
            try SubmitRequest(fields: MessageFields(members))
        } throws: { error in
            guard let refusal = error as? ProtocolError else { return false }
            return refusal.error == .malformed && refusal.message.hasPrefix(field)
        }
    }

    @Test func whatIsNotATimeOrARangeIsDroppedNotRefused() throws {
        let message = try SubmitRequest(
            fields: MessageFields([
                "submission_id": .string("s"), "plugins": .object([:]),
                "collected_at": .string("yesterday"), "release": .integer(-1)
            ]))
        #expect(message.collectedAt == nil && message.release == nil)
    }

    @Test func enumeratedAndRangedFieldsAreChecked() {
        #expect(throws: ProtocolError.self) {
            try AcknowledgePatchRequest(fields: MessageFields(["patch_id": .integer(1), "target": .string("t"), "result": .string("done")]))
        }
        #expect(throws: ProtocolError.self) { try ReleaseRequest(fields: MessageFields(["release": .integer(0)])) }
        #expect(throws: ProtocolError.self) { try UpdateRequest(fields: MessageFields(["release": .string("1")])) }
        #expect(throws: ProtocolError.self) { try EnrollRequest(fields: MessageFields(["public_key": .string("k"), "machine_id": .string("../x")])) }
    }

    @Test func answersDecodeTheirStatusesAndRefuseUnknownOnes() throws {
        let stored = try JSONDecoder().decode(SubmitAnswer.self, from: Data(#"{"status":"stored","submission_id":"s"}"#.utf8))
        #expect(stored == SubmitAnswer(status: .stored, submissionID: "s"))
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(SubmitAnswer.self, from: Data(#"{"status":"kept","submission_id":"s"}"#.utf8))
        }
        let enrolled = try JSONDecoder().decode(EnrollAnswer.self, from: Data(#"{"status":"pending","key":"K"}"#.utf8))
        #expect(enrolled.status == .pending)
    }

    @Test func signedBodiesNameTheirEndpoint() throws {
        let sandbox = try Sandbox()
        let openPGP = OpenPGP(homeDirectory: try sandbox.directory("g"))
        try openPGP.prepareHome()
        let fingerprint = try openPGP.generateSigningKey(userID: "m")
        let request = try SignedRequest.make(ReleaseRequest(release: 2), host: "h", fingerprint: fingerprint, signer: openPGP)
        let body = try JSONValue.parse(request.body)
        #expect(body["endpoint"] == .string("release") && body["release"] == .integer(2))
        #expect(request.endpoint == .release)
    }
}
