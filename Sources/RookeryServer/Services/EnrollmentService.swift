import Foundation
import Logging
import RookeryCore

/// Records enrolling devices as pending, or accepted when they bring a configured enrollment token
/// and nothing about them looks like a clone.
public struct EnrollmentService: Sendable {
    let store: any Store
    let keyring: ServerKeyring
    let enrollmentTokens: [String]
    let logger: Logger

    public func enroll(_ request: VerifiedRequest, now: Date = Date()) async throws -> EnrollResponse {
        if let existing = request.device {
            return EnrollResponse(status: existing.state.rawValue, key: existing.fingerprint)
        }
        guard let publicKey = request.verifiedPublicKey else {
            throw ProtocolError(.internalError, "enrollment without a verified key")
        }
        guard let machineID = request.fields["machine_id"]?.stringValue, InputValidation.isIdentifier(machineID) else {
            throw ProtocolError(.malformed, "machine_id is missing or not 1-128 of [A-Za-z0-9._-]")
        }
        let conflicts = try await store.conflictingDevices(hostname: request.host, machineID: machineID,
                                                           excluding: request.fingerprint)
        let flags = conflicts.map { other in
            other.hostname == request.host
                ? "hostname \(request.host) is also used by key \(other.fingerprint)"
                : "machine id is also used by key \(other.fingerprint) (\(other.hostname))"
        }
        let token = request.fields["enrollment_token"]?.stringValue ?? ""
        let autoAccept = flags.isEmpty && !token.isEmpty && enrollmentTokens.contains { Self.constantTimeEqual($0, token) }

        try await keyring.add(publicKey: publicKey)
        try await store.insert(Device(
            fingerprint: request.fingerprint, publicKey: publicKey, hostname: request.host, machineID: machineID,
            state: autoAccept ? .accepted : .pending, enrolledAt: now, acceptedAt: autoAccept ? now : nil,
            flags: flags))
        for flag in flags { logger.warning("enrollment flagged: \(flag)", metadata: ["key": "\(request.fingerprint)"]) }
        logger.notice("device enrolled", metadata: [
            "host": "\(request.host)", "key": "\(request.fingerprint)",
            "state": "\(autoAccept ? "accepted (token)" : "pending")"])
        return EnrollResponse(status: autoAccept ? "accepted" : "pending", key: request.fingerprint)
    }

    /// Compares without stopping at the first difference, so timing does not leak a token.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
