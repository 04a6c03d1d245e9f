import Foundation
import RookeryCore
import Testing

@testable import RookeryServer

/// The native verifier's key cache and the `verify_with` setting that puts it in front of GPGME.
@Suite struct NativeSignatureVerifierTests {
    @Test func eachStoredKeyIsReadOnceAndTheCacheStaysWithinItsCapacity() throws {
        let sandbox = try Sandbox()
        let devices = try (0..<3).map { try TestDevice(sandbox, name: "d\($0)") }
        let body = Data("a body".utf8)
        let verifier = NativeSignatureVerifier(capacity: 2)
        for device in devices.prefix(2) {
            let key = try device.openPGP.exportPublicKey(fingerprint: device.fingerprint)
            let signature = try device.openPGP.sign(body, fingerprint: device.fingerprint)
            for _ in 0..<3 {
                #expect(verifier.verify(signature: signature, body: body, storedKey: key) == .accepted(fingerprint: device.fingerprint))
            }
        }
        #expect(verifier.count == 2)
        let third = try devices[2].openPGP.exportPublicKey(fingerprint: devices[2].fingerprint)
        let signature = try devices[2].openPGP.sign(body, fingerprint: devices[2].fingerprint)
        #expect(verifier.verify(signature: signature, body: body, storedKey: third) == .accepted(fingerprint: devices[2].fingerprint))
        #expect(verifier.count == 2)
        // Another device's key is a refusal, not a guess and not a hand-over to gpg.
        let other = try devices[0].openPGP.exportPublicKey(fingerprint: devices[0].fingerprint)
        guard case .refused = verifier.verify(signature: signature, body: body, storedKey: other) else {
            Issue.record("a signature by another device's key was not refused natively")
            return
        }
    }

    @Test func aKeyItCannotReadIsHandedToGPGME() throws {
        let verifier = NativeSignatureVerifier()
        let verdict = verifier.verify(signature: Data([0xC2, 0x01, 0x04]), body: Data(), storedKey: "not a key")
        guard case .notUnderstood = verdict else {
            Issue.record("\(verdict)")
            return
        }
        #expect(verifier.count == 1)
    }

    @Test func verifyWithIsNativeUnlessSetAndRefusesOtherValues() throws {
        #expect(try SettingsFile.decode(ServerSettings.self, text: "listen_port: 1\n", source: "s.yml").verifyWith == .native)
        #expect(try SettingsFile.decode(ServerSettings.self, text: "verify_with: gpgme\n", source: "s.yml").verifyWith == .gpgme)
        do {
            _ = try SettingsFile.decode(ServerSettings.self, text: "verify_with: gpg\n", source: "s.yml")
            Issue.record("verify_with: gpg was taken")
        } catch {
            #expect("\(error)".contains("verify_with must be native or gpgme"), "\(error)")
        }
    }
}
