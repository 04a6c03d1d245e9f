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

    /// `address`: the client's, as `FailureLimiter` counts it (see `RookeryRequestContext.clientAddress`).
    public func enroll(_ request: Verified<EnrollRequest>, from address: String, now: Date = Date()) async throws -> EnrollAnswer {
        if let existing = request.device {
            // Under its own name it asks for nothing, unless to drop a rename that was held.
            guard request.host != existing.hostname || existing.flags.contains(where: Device.isRenameHeldFlag) else {
                return Self.answer(existing)
            }
            return try await rename(existing, to: request.host, now: now)
        }
        guard let publicKey = request.verifiedPublicKey else {
            throw ProtocolError(.internalError, "enrollment without a verified key")
        }
        let tokenMatches = try await checkToken(request.message.enrollmentToken ?? "", from: address)
        // Anyone can enroll; without a token, a stranger must not be able to fill the list an
        // admin reads. (The cap is checked before the insert, so it can be passed by a few.)
        if !tokenMatches, try await store.deviceCount(in: .pending) >= maxPendingDevices {
            throw ProtocolError(.tooManyPending, "\(maxPendingDevices) devices already wait for acceptance; try again later")
        }
        let device = try await store.enroll(
            Device(
                fingerprint: request.fingerprint, publicKey: publicKey, hostname: request.host,
                machineID: request.message.machineID, state: .pending, enrolledAt: now),
            acceptUnlessFlagged: tokenMatches)
        for flag in device.flags { logger.warning("enrollment flagged: \(flag)", metadata: ["key": "\(device.fingerprint)"]) }
        logger.notice(
            "device enrolled",
            metadata: [
                "host": "\(device.hostname)", "key": "\(device.fingerprint)",
                "state": "\(device.state == .accepted ? "accepted (token)" : device.state.rawValue)"
            ])
        return Self.answer(device)
    }

    /// A known key asks for another hostname. Its signature was checked against its stored key
    /// (`RequestVerifier`), so the device itself asks: an accepted one is renamed at once, unless
    /// another key holds the name (see `Store.rename` and docs/security.md).
    private func rename(_ device: Device, to hostname: String, now: Date) async throws -> EnrollAnswer {
        switch try await store.rename(fingerprint: device.fingerprint, to: hostname, at: now) {
        case .renamed(let renamed, let rename):
            logger.notice(
                "device renamed",
                metadata: [
                    "key": "\(renamed.fingerprint)", "from": "\(rename.oldHostname)", "to": "\(rename.newHostname)"
                ])
            return Self.answer(renamed)
        case .unchanged(let device):
            logger.notice(
                "held rename dropped: the device keeps its hostname",
                metadata: [
                    "key": "\(device.fingerprint)", "host": "\(device.hostname)"
                ])
            return Self.answer(device)
        case .held(let held):
            logger.warning(
                "rename held: another key uses the hostname",
                metadata: [
                    "key": "\(held.fingerprint)", "host": "\(held.hostname)", "asked": "\(hostname)"
                ])
            return Self.answer(held)
        case .notAccepted(.pending):
            throw ProtocolError(
                .notAccepted,
                """
                this device waits for an administrator to accept it as \(device.hostname) \
                (bin/clients accept \(device.fingerprint)); it may take the hostname \(hostname) once accepted
                """)
        case .notAccepted(.rejected):
            throw ProtocolError(.rejected, "this device's enrollment was rejected")
        case .notAccepted(.revoked):
            throw ProtocolError(.revoked, "this device's key was revoked")
        case .notAccepted(nil), .notAccepted(.accepted):
            // nil: forgotten since the request was verified, so it must enroll anew. (A store
            // never answers `.notAccepted(.accepted)`.)
            throw ProtocolError(.unknownKey, "no device has this key; enroll first")
        }
    }

    /// Only pending and accepted devices get this far (the verifier refuses the others).
    private static func answer(_ device: Device) -> EnrollAnswer {
        EnrollAnswer(
            status: device.state == .accepted ? .accepted : .pending, key: device.fingerprint,
            hostname: device.hostname)
    }

    /// Whether `token` is one of the enrollment tokens. Every compare counts as a failure of the
    /// address until it matches, so tokens are guessed no faster than passwords; an address with
    /// too many failures is refused before any compare. No token, no compare, nothing counted.
    private func checkToken(_ token: String, from address: String) async throws -> Bool {
        // No token sent, or none configured: nothing to guess, nothing counted.
        guard !token.isEmpty, !enrollmentTokens.isEmpty else { return false }
        guard let reservation = try await failures.reserve(FailureLimiter.key(for: address)) else {
            throw ProtocolError(.tooManyFailures, "too many failed attempts from \(address); wait a few minutes")
        }
        guard enrollmentTokens.contains(where: { ConstantTime.equal($0.utf8, token.utf8) }) else {
            logger.warning("enrollment token did not match", metadata: ["address": "\(address)"])
            await failures.recordFailure(reservation)
            return false
        }
        failures.giveBack(reservation)
        return true
    }
}
