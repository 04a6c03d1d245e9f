import Foundation
import RookeryCore

/// The accepted devices' keys, in a GnuPG home of their own (not the signing key's). The database
/// is the truth about device keys; this keyring is a cache of them that fills itself: a submission whose key is not here yet has it imported from the device's
/// record and checked again. So an admin command on any host, or another server process sharing
/// the database, needs nothing but the database. Every gpg call runs on the blocking pool.
///
/// With a `NativeSignatureVerifier`, a device's signature is checked natively first, and only
/// what it does not understand goes to gpg (`verify_with: native`, the default).
public struct ServerKeyring: Sendable {
    public let openPGP: OpenPGP
    private let verifier: any SignatureVerifier
    private let native: NativeSignatureVerifier?
    private let enrollmentChecker: any EnrollmentChecking
    private let pool: BlockingPool
    /// One write at a time, in this process and every other on the install root.
    private let writing: KeyringWriteLock

    /// `verifier` checks signatures against this keyring; nil means in this process.
    /// `native` checks them before it; nil: only gpg does.
    public init(
        homeDirectory: String, enrollmentChecker: any EnrollmentChecking, pool: BlockingPool,
        verifier: (any SignatureVerifier)? = nil, native: NativeSignatureVerifier? = nil
    ) throws {
        openPGP = OpenPGP(homeDirectory: homeDirectory)
        try openPGP.prepareHome(publicKeysOnly: true)
        writing = KeyringWriteLock(keyring: homeDirectory)
        self.verifier = verifier ?? openPGP
        self.native = native
        self.enrollmentChecker = enrollmentChecker
        self.pool = pool
    }

    /// Verifies a signature by a known device. `storedKey` is the device's public key from the
    /// database, imported when the keyring does not have it yet.
    public func verify(signature: Data, body: Data, storedKey: String) async throws -> VerifiedSignature {
        // The native check never waits: over a small body it runs right here (a hop to the pool
        // would cost more than the check), over a large one on the pool.
        let native = self.native
        let verdict = try await pool.run(overBodyOf: body.count) {
            native?.verify(signature: signature, body: body, storedKey: storedKey)
        }
        switch verdict {
        case .accepted(let fingerprint)?:
            return VerifiedSignature(fingerprint: fingerprint, validity: NativeSignatureVerifier.validity)
        case .refused(let reason)?:
            throw OpenPGPError("verify", message: reason)
        case .notUnderstood(_)?, nil:
            break
        }
        let (verifier, openPGP, writing) = (self.verifier, self.openPGP, self.writing)
        return try await pool.run {
            do {
                return try verifier.verify(signature: signature, data: body)
            } catch let error as OpenPGPError where error.kind != .refused {
                // No key yet, or no verdict (gpg can fail to read a keyring being rewritten):
                // once nobody writes the keyring, check again, and import the key if still missing.
                return try writing.withLock {
                    do {
                        return try verifier.verify(signature: signature, data: body)
                    } catch let again as OpenPGPError where again.kind == .missingKey {
                        try openPGP.importKeys(Data(storedKey.utf8))
                        return try verifier.verify(signature: signature, data: body)
                    }
                }
            }
        }
    }

    /// Checks an enrollment: `publicKey` must hold the key `fingerprint` and the body must be signed
    /// by it. `enrollmentChecker` does it away from this keyring (see `EnrollmentCheckProcess`),
    /// so nothing an unverified stranger sent reaches it. Returns the signature and the key,
    /// exported alone and minimal.
    public func verifyEnrollment(
        publicKey: String, fingerprint: String, signature: Data,
        body: Data
    ) async throws -> (VerifiedSignature, String) {
        guard !publicKey.contains("PRIVATE KEY") else {
            throw OpenPGPError("enroll", message: "public_key holds private key material; send only the public key")
        }
        let checkedKey: Data
        do { checkedKey = try PublicKeyShape.check(armored: publicKey) } catch let refusal as SignatureShape.Refusal {
            throw OpenPGPError("enroll", message: refusal.description)
        }
        let request = EnrollmentCheckRequest(publicKey: checkedKey, fingerprint: fingerprint, signature: signature, body: body)
        let checker = enrollmentChecker
        let result = try await pool.run { try checker.check(request) }
        return (result.signer, result.publicKey)
    }
}
