import Foundation
import RookeryCore

/// The server's GnuPG home: the public keys of enrolled devices (and later the server's own key).
/// All calls run on the blocking pool.
public struct ServerKeyring: Sendable {
    public let openPGP: OpenPGP
    private let verifier: any SignatureVerifier
    private let scratchDirectory: String
    private let pool: BlockingPool

    /// `verifier` checks signatures against this keyring; nil means in this process.
    public init(homeDirectory: String, scratchDirectory: String, pool: BlockingPool,
                verifier: (any SignatureVerifier)? = nil) throws {
        openPGP = OpenPGP(homeDirectory: homeDirectory)
        try openPGP.prepareHome()
        openPGP.makeProcessDefault()
        self.verifier = verifier ?? openPGP
        try FileManager.default.createDirectory(atPath: scratchDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        self.scratchDirectory = scratchDirectory
        self.pool = pool
    }

    /// Verifies a signature against the keys already in the keyring.
    public func verify(signature: Data, body: Data) async throws -> VerifiedSignature {
        let verifier = self.verifier
        return try await pool.run { try verifier.verify(signature: signature, data: body) }
    }

    /// Checks an enrollment: `publicKey` must hold the key `fingerprint` and the body must be signed
    /// by it. This happens in a throw-away keyring, so nothing an unverified stranger sent reaches the
    /// real keyring. Returns the signature and the key, exported alone and minimal.
    public func verifyEnrollment(publicKey: String, fingerprint: String, signature: Data,
                                 body: Data) async throws -> (VerifiedSignature, String) {
        let scratch = OpenPGP(homeDirectory: scratchDirectory + "/" + UUID().uuidString.prefix(8))
        return try await pool.run {
            try scratch.prepareHome()
            defer { try? FileManager.default.removeItem(atPath: scratch.homeDirectory) }
            let imported = try scratch.importKeys(Data(publicKey.utf8))
            guard imported.contains(fingerprint) else {
                throw OpenPGPError("enroll", message: "public_key does not hold key \(fingerprint)")
            }
            let verified = try scratch.verify(signature: signature, data: body)
            return (verified, try scratch.exportPublicKey(fingerprint: fingerprint))
        }
    }

    /// Adds a verified device key to the keyring.
    public func add(publicKey: String) async throws {
        let openPGP = self.openPGP
        _ = try await pool.run { try openPGP.importKeys(Data(publicKey.utf8)) }
    }

    public func remove(fingerprint: String) async throws {
        let openPGP = self.openPGP
        try await pool.run { try openPGP.deletePublicKey(fingerprint: fingerprint) }
    }
}
