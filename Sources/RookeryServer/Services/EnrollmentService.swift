import Foundation
import Logging
import RookeryCore

/// Records enrolling devices as pending, or accepted when they bring a configured enrollment token
/// and nothing about them looks like a clone (or a key revoked before). Keys reach the server
/// keyring only when an accepted device first submits (see `ServerKeyring`).
public struct EnrollmentService: Sendable {
    let store: any Store
    let enrollmentTokens: [String]
    let maxPendingDevices: Int
    /// Shared with endpoint_auth: a wrong token is a failed guess like a wrong password.
    let failures: FailureLimiter
    let logger: Logger

    /// `address`: the client's, as `FailureLimiter` counts it (see `ProtocolController`).
    public func enroll(_ request: VerifiedRequest, from address: String, now: Date = Date()) async throws -> EnrollResponse {
        if let existing = request.device {
            return EnrollResponse(status: existing.state.rawValue, key: existing.fingerprint)
        }
        guard let publicKey = request.verifiedPublicKey else {
            throw ProtocolError(.internalError, "enrollment without a verified key")
        }
        guard let machineID = request.fields["machine_id"]?.stringValue, InputValidation.isIdentifier(machineID) else {
            throw ProtocolError(.malformed, "machine_id is missing or not 1-128 of [A-Za-z0-9._-]")
        }
        let tokenMatches = try checkToken(request.fields["enrollment_token"]?.stringValue ?? "", from: address)
        // Anyone can enroll; without a token, a stranger must not be able to fill the list an
        // admin reads. (The cap is checked before the insert, so it can be passed by a few.)
        if !tokenMatches, try await store.deviceCount(in: .pending) >= maxPendingDevices {
            throw ProtocolError(.tooManyPending, "\(maxPendingDevices) devices already wait for acceptance; try again later")
        }
        let device = try await store.enroll(
            Device(fingerprint: request.fingerprint, publicKey: publicKey, hostname: request.host,
                   machineID: machineID, state: .pending, enrolledAt: now),
            acceptUnlessFlagged: tokenMatches)
        for flag in device.flags { logger.warning("enrollment flagged: \(flag)", metadata: ["key": "\(device.fingerprint)"]) }
        logger.notice("device enrolled", metadata: [
            "host": "\(device.hostname)", "key": "\(device.fingerprint)",
            "state": "\(device.state == .accepted ? "accepted (token)" : device.state.rawValue)"])
        return EnrollResponse(status: device.state.rawValue, key: device.fingerprint)
    }

    /// Whether `token` is one of the enrollment tokens. Every compare counts as a failure of the
    /// address until it matches, so tokens are guessed no faster than passwords; an address with
    /// too many failures is refused before any compare. No token, no compare, nothing counted.
    private func checkToken(_ token: String, from address: String) throws -> Bool {
        // No token sent, or none configured: nothing to guess, nothing counted.
        guard !token.isEmpty, !enrollmentTokens.isEmpty else { return false }
        guard let reservation = failures.reserve(FailureLimiter.key(for: address)) else {
            throw ProtocolError(.tooManyFailures, "too many failed attempts from \(address); wait a few minutes")
        }
        guard enrollmentTokens.contains(where: { Self.constantTimeEqual($0, token) }) else {
            logger.warning("enrollment token did not match", metadata: ["address": "\(address)"])
            return false
        }
        failures.giveBack(reservation)
        return true
    }

    /// Compares without stopping at the first difference, so timing does not leak a token.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
