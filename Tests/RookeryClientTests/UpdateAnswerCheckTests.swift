import Foundation
import RookeryCore
import RookeryCurl
import RookeryTestSupport
import Testing

@testable import RookeryClient

/// `Updater.checkedAnswer`: a device acts on an update answer only when it is signed by the pinned
/// server key (`<root>/client/server-key.asc`) and answers this very request of this very device.
/// Real gpg keys: a server key that signs, and an attacker's key that must never be trusted.
@Suite struct UpdateAnswerCheckTests {
    let sandbox: Sandbox
    let root: InstallRoot
    let server: OpenPGP, serverKey: String
    let attacker: OpenPGP, attackerKey: String
    let pinned: PinnedServerKey

    static let device = "0123456789ABCDEF0123456789ABCDEF01234567"
    static let otherDevice = "89ABCDEF0123456789ABCDEF0123456789ABCDEF"
    static let nonce = "00112233445566778899aabbccddeeff"

    init() throws {
        sandbox = try Sandbox()
        root = InstallRoot(path: try sandbox.directory("r"))
        (server, serverKey) = try Self.makeKey(in: sandbox.path + "/s", userID: "rookery server")
        (attacker, attackerKey) = try Self.makeKey(in: sandbox.path + "/a", userID: "attacker")
        try sandbox.write(try server.exportPublicKey(fingerprint: serverKey), to: "r/client/server-key.asc")
        pinned = PinnedServerKey(root: root)
    }

    @Test func signedAnswerToThisRequestIsAcceptedAndDecoded() throws {
        let sent = Self.answer()
        let checked = try Updater.checkedAnswer(
            try reply(sent, signedBy: server, serverKey),
            nonce: Self.nonce, fingerprint: Self.device, pinnedKey: pinned)
        #expect(checked == sent)
        #expect(checked.release == ReleaseOffer(number: 7, size: 1234, sha256: String(repeating: "ab", count: 32)))
        #expect(checked.patches.map(\.target) == ["client/plugins/extra.sh", "client/plugins/old.sh"])
        #expect(checked.patches.first?.content == Data("#!/bin/sh\necho '{}'\n".utf8))
        #expect(try pinned.fingerprint() == serverKey)
    }

    @Test func answerWithoutSignatureHeaderIsRefused() throws {
        let signed = try reply(Self.answer(), signedBy: server, serverKey)
        let unsigned = HTTPReply(status: 200, body: signed.body, headers: ["content-type": "application/json"])
        #expect(throws: UpdateRefused.self) {
            try Updater.checkedAnswer(unsigned, nonce: Self.nonce, fingerprint: Self.device, pinnedKey: pinned)
        }
    }

    @Test func bodyChangedByOneByteAfterSigningIsRefused() throws {
        let signed = try reply(Self.answer(), signedBy: server, serverKey)
        // Still valid JSON, still this request: only the signature can catch it.
        var body = signed.body
        let at = try #require(body.range(of: Data("extra.sh".utf8))).lowerBound
        body[at] = UInt8(ascii: "E")
        let tampered = HTTPReply(status: 200, body: body, headers: signed.headers)
        #expect(throws: OpenPGPError.self) {
            try Updater.checkedAnswer(tampered, nonce: Self.nonce, fingerprint: Self.device, pinnedKey: pinned)
        }
    }

    @Test func answerSignedByAnotherKeyIsRefused() throws {
        // The attacker's key is in the device's keyring too, so gpg calls the signature good: only
        // the check that the signer is the pinned key can refuse the answer.
        _ = try pinned.fingerprint()
        try OpenPGP(homeDirectory: root.clientServerKeyring).importKeys(Data(try attacker.exportPublicKey(fingerprint: attackerKey).utf8))
        let forged = try reply(Self.answer(), signedBy: attacker, attackerKey)
        let refusal = #expect(throws: OpenPGPError.self) {
            try Updater.checkedAnswer(forged, nonce: Self.nonce, fingerprint: Self.device, pinnedKey: pinned)
        }
        #expect(refusal?.message.contains("not the pinned server key") == true)
    }

    @Test func replayedAnswerForAnotherNonceIsRefused() throws {
        let recorded = try reply(Self.answer(), signedBy: server, serverKey)
        #expect(throws: UpdateRefused.self) {
            try Updater.checkedAnswer(
                recorded, nonce: "ffeeddccbbaa99887766554433221100",
                fingerprint: Self.device, pinnedKey: pinned)
        }
    }

    @Test func answerMeantForAnotherDeviceIsRefused() throws {
        let theirs = try reply(Self.answer(key: Self.otherDevice), signedBy: server, serverKey)
        #expect(throws: UpdateRefused.self) {
            try Updater.checkedAnswer(theirs, nonce: Self.nonce, fingerprint: Self.device, pinnedKey: pinned)
        }
    }

    @Test func serverKeyFileHoldingTwoKeysIsRefused() throws {
        let both = try server.exportPublicKey(fingerprint: serverKey) + attacker.exportPublicKey(fingerprint: attackerKey)
        try sandbox.write(both, to: "r/client/server-key.asc")
        #expect(throws: OpenPGPError.self) { try pinned.fingerprint() }
        // Not even the real server's signature counts while the pin is ambiguous.
        let signed = try reply(Self.answer(), signedBy: server, serverKey)
        #expect(throws: OpenPGPError.self) {
            try Updater.checkedAnswer(signed, nonce: Self.nonce, fingerprint: Self.device, pinnedKey: pinned)
        }
    }

    @Test func newPinnedKeyReplacesTheOldOne() throws {
        let oldSigned = try reply(Self.answer(), signedBy: server, serverKey)
        _ = try Updater.checkedAnswer(oldSigned, nonce: Self.nonce, fingerprint: Self.device, pinnedKey: pinned)

        // A new release pins a new key: the keyring must be rebuilt, not merely added to.
        let (newServer, newKey) = try Self.makeKey(in: sandbox.path + "/n", userID: "rookery server 2")
        try sandbox.write(try newServer.exportPublicKey(fingerprint: newKey), to: "r/client/server-key.asc")

        #expect(throws: OpenPGPError.self) {
            try Updater.checkedAnswer(oldSigned, nonce: Self.nonce, fingerprint: Self.device, pinnedKey: pinned)
        }
        let newSigned = try reply(Self.answer(), signedBy: newServer, newKey)
        let checked = try Updater.checkedAnswer(newSigned, nonce: Self.nonce, fingerprint: Self.device, pinnedKey: pinned)
        #expect(checked == Self.answer())
        #expect(try pinned.fingerprint() == newKey)
    }

    // MARK: - Helpers

    /// The agent's poll answer goes through the same checks: signed by the pinned key, this nonce,
    /// this device. (Deleting the nonce and key check in `checkedAnswer` fails the second part.)
    @Test func pollAnswersAreCheckedLikeUpdateAnswers() throws {
        let offer = ShellOffer(sessionID: String(repeating: "0f", count: 16), adminKey: Data(repeating: 7, count: 32), openedBy: "user a")
        let sent = PollAnswer(nonce: Self.nonce, key: Self.device, shells: [offer], update: true)
        let signed = try signedReply(try sent.encoded(), by: server, serverKey)
        let checked = try Updater.checkedAnswer(signed, as: PollAnswer.self, nonce: Self.nonce, fingerprint: Self.device, pinnedKey: pinned)
        #expect(checked == sent)
        #expect(throws: UpdateRefused.self) {
            try Updater.checkedAnswer(signed, as: PollAnswer.self, nonce: Self.nonce, fingerprint: Self.otherDevice, pinnedKey: pinned)
        }
        let forged = try signedReply(try sent.encoded(), by: attacker, attackerKey)
        #expect(throws: OpenPGPError.self) {
            try Updater.checkedAnswer(forged, as: PollAnswer.self, nonce: Self.nonce, fingerprint: Self.device, pinnedKey: pinned)
        }
    }

    func signedReply(_ body: Data, by signer: OpenPGP, _ fingerprint: String) throws -> HTTPReply {
        let signature = try signer.sign(body, fingerprint: fingerprint)
        return HTTPReply(status: 200, body: body, headers: ["rookery-signature": signature.base64EncodedString()])
    }

    static func makeKey(in home: String, userID: String) throws -> (OpenPGP, String) {
        let openPGP = OpenPGP(homeDirectory: home)
        try openPGP.prepareHome()
        return (openPGP, try openPGP.generateSigningKey(userID: userID))
    }

    /// An answer with a release offer and two patches, for this device's request unless told otherwise.
    static func answer(nonce: String = nonce, key: String = device) -> UpdateAnswer {
        UpdateAnswer(
            nonce: nonce, key: key,
            release: ReleaseOffer(number: 7, size: 1234, sha256: String(repeating: "ab", count: 32)),
            patches: [
                PatchInstruction(
                    id: 1, target: "client/plugins/extra.sh", action: .write, mode: 0o755,
                    content: Data("#!/bin/sh\necho '{}'\n".utf8)),
                PatchInstruction(id: 2, target: "client/plugins/old.sh", action: .remove, mode: 0, content: Data())
            ])
    }

    /// The reply the server sends: the encoded answer with its detached signature in the header.
    /// The pinned key's own valid signature, wrapped in a compressed packet (deflate, one stored
    /// block): what reaches gpg must be one bare signature packet, whoever made it.
    @Test func aValidSignatureInsideACompressedPacketIsRefusedByItsShape() throws {
        let signed = try reply(Self.answer(), signedBy: server, serverKey)
        let header = try #require(signed.headers["rookery-signature"])
        let signature = try #require(Data(base64Encoded: header))
        let length = UInt16(signature.count)
        let stored = Data([0x01, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]) + signature
        let compressed = Data([0xC8, UInt8(1 + stored.count), 1]) + stored
        let wrapped = HTTPReply(
            status: 200, body: signed.body,
            headers: [
                "content-type": "application/json", "rookery-signature": compressed.base64EncodedString()
            ])
        do {
            _ = try Updater.checkedAnswer(wrapped, nonce: Self.nonce, fingerprint: Self.device, pinnedKey: pinned)
            Issue.record("a compressed signature packet was accepted")
        } catch let error as OpenPGPError {
            #expect(error.message.contains("not one OpenPGP signature") && error.message.contains("type 8"), "\(error)")
        }
    }

    func reply(_ answer: UpdateAnswer, signedBy signer: OpenPGP, _ fingerprint: String) throws -> HTTPReply {
        let body = try answer.encoded()
        let signature = try signer.sign(body, fingerprint: fingerprint)
        return HTTPReply(
            status: 200, body: body,
            headers: [
                "content-type": "application/json",
                "rookery-signature": signature.base64EncodedString()
            ])
    }
}
