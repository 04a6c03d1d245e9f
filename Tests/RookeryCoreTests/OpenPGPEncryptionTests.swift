import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// The secret-keeping key's life, with real gpg: made in one home, its public half used to
/// encrypt in another (a device), its secret half exported into a third (the keepers') to decrypt.
extension OpenPGPTests {

    @Test func encryptedOnADeviceDecryptsOnlyWithTheExportedSecretKey() throws {
        let maker = try makeHome("k")
        let fingerprint = try maker.generateEncryptionKey(userID: "rookery secret keeping")
        #expect(InputValidation.fingerprint(fingerprint) == fingerprint)

        let device = try makeHome("d")
        #expect(try device.importKeys(Data(try maker.exportPublicKey(fingerprint: fingerprint).utf8)) == [fingerprint])
        let plain = Data("\"SN-4711\"".utf8)
        let message = try device.encrypt(plain, to: fingerprint)
        #expect(message.range(of: plain) == nil)
        // The device holds only the public half: it cannot read what it encrypted.
        #expect(throws: OpenPGPError.self) { try device.decrypt(message) }

        let keepers = try makeHome("r")
        let secretKey = try maker.exportSecretKey(fingerprint: fingerprint)
        #expect(String(decoding: secretKey, as: UTF8.self).hasPrefix("-----BEGIN PGP PRIVATE KEY BLOCK-----"))
        // gpg reports the key once for its public and once for its secret part.
        #expect(Set(try keepers.importKeys(secretKey)) == [fingerprint])
        #expect(try keepers.secretKeyFingerprints() == [fingerprint])
        #expect(try keepers.decrypt(message) == plain)
    }

    @Test func aSigningOnlyKeyCannotBeEncryptedTo() throws {
        let home = try makeHome("s")
        let fingerprint = try home.generateSigningKey(userID: "device")
        #expect(throws: OpenPGPError.self) { try home.encrypt(Data("x".utf8), to: fingerprint) }
    }
}
