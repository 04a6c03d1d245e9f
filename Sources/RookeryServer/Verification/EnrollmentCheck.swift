import Foundation
import RookeryCore

/// What an enrolling stranger sent: a public key (its binary packets, as `PublicKeyShape` checked
/// them), the fingerprint the body claims, and the detached signature over the body.
public struct EnrollmentCheckRequest: Sendable {
    public let publicKey: Data
    public let fingerprint: String
    public let signature: Data
    public let body: Data
}

/// The checked enrollment: who signed, and their key exported alone and minimal.
public struct EnrollmentCheckResult: Sendable {
    public let signer: VerifiedSignature
    public let publicKey: String
}

/// Checks an enrollment. Nothing in it is trusted yet, so it never runs in the GnuPG home that
/// holds the server's signing key; `EnrollmentCheckProcess` runs it in a process of its own.
public protocol EnrollmentChecking: Sendable {
    func check(_ request: EnrollmentCheckRequest) throws -> EnrollmentCheckResult
}

public enum EnrollmentCheck {
    /// Imports the key into the fresh GnuPG home `home` (which never starts a gpg-agent), checks
    /// that it is the key the body names and that it made the signature, and exports it.
    public static func run(_ request: EnrollmentCheckRequest, home: String) throws -> EnrollmentCheckResult {
        let scratch = OpenPGP(homeDirectory: home)
        try scratch.prepareHome(publicKeysOnly: true)
        defer { try? FileManager.default.removeItem(atPath: home) }
        let imported = try scratch.importKeys(request.publicKey)
        guard imported.contains(request.fingerprint) else {
            throw OpenPGPError("enroll", message: "public_key does not hold key \(request.fingerprint)")
        }
        let signer = try scratch.verify(signature: request.signature, data: request.body)
        return EnrollmentCheckResult(signer: signer, publicKey: try scratch.exportPublicKey(fingerprint: request.fingerprint))
    }
}

/// Runs the check in this process, in a throw-away home under `scratchDirectory`: for admin
/// commands and router tests, which have no `rookery` binary to start.
public struct InProcessEnrollmentChecker: EnrollmentChecking {
    let scratchDirectory: String

    public func check(_ request: EnrollmentCheckRequest) throws -> EnrollmentCheckResult {
        try FileManager.default.createDirectory(
            atPath: scratchDirectory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        return try EnrollmentCheck.run(request, home: scratchDirectory + "/" + UUID().uuidString.prefix(8))
    }
}
