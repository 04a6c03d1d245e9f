import Foundation
import RookeryCore

/// Everything the server keeps. Service code talks only to this protocol, so the SQLite store and a
/// later PostgreSQL store are interchangeable. Every method is one transaction.
public protocol Store: Sendable {
    func device(fingerprint: String) async throws -> Device?
    /// Devices whose hostname or fingerprint equals `nameOrFingerprint` (fingerprint
    /// case-insensitively; a unique fingerprint prefix of 8+ characters also matches).
    func devices(named nameOrFingerprint: String) async throws -> [Device]
    func devices(in state: DeviceState?) async throws -> [Device]
    /// Devices other than `excluding` that use this hostname or machine id.
    func conflictingDevices(hostname: String, machineID: String, excluding: String) async throws -> [Device]

    func insert(_ device: Device) async throws
    func setState(_ state: DeviceState, fingerprint: String, at: Date) async throws
    /// Removes the device, its document, history and submission ids.
    func forget(fingerprint: String) async throws

    /// Records a nonce; false when it was seen before. Nonces older than `pruneBefore` are dropped.
    func recordNonce(_ nonce: String, seenAt: Date, pruneBefore: Date) async throws -> Bool

    /// Stores a submission unless its id was stored before: replaces the latest document,
    /// appends the changed leaves to the history and updates the last submission time.
    func store(_ submission: Submission) async throws -> SubmissionOutcome
    func latestDocument(fingerprint: String) async throws -> JSONValue?
    func history(fingerprint: String, limit: Int) async throws -> [ChangeRecord]
}
