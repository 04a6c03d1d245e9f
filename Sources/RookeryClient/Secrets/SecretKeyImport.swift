import FoundationEssentials
import RookeryCore

/// Brings the secret-keeping key from a signed update answer into the device's GnuPG home, and
/// accepts it only if gpg sees exactly the key the answer names and can encrypt to it. The device
/// encrypts to a fingerprint; the armored key is only how that key travels.
struct SecretKeyImport {
    let openPGP: OpenPGP

    func importChecked(_ key: SecretKeepingKey) throws {
        guard let fingerprint = InputValidation.fingerprint(key.fingerprint) else {
            throw UpdateRefused("its fingerprint is not 40 hex digits")
        }
        // The packets that passed the shape check are what gpg reads, not the armored text.
        let packets = try PublicKeyShape.check(armored: key.publicKey)
        try openPGP.prepareHome()
        let imported = Set(try openPGP.importKeys(packets))
        guard imported == [fingerprint] else {
            let found = imported.isEmpty ? "no key" : imported.sorted().joined(separator: ", ")
            throw UpdateRefused("the armored key holds \(found), not exactly the key \(fingerprint) the answer names")
        }
        do {
            _ = try openPGP.encrypt(Data(), to: fingerprint)
        } catch {
            throw UpdateRefused("gpg cannot encrypt to key \(fingerprint): \(error)")
        }
    }
}
