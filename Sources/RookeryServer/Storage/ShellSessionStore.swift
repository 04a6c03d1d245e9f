import Foundation
import RookeryCore

/// Remote-shell sessions and the frames waiting in them, in the database so that the admin and the
/// device may reach different server processes sharing it. Every method is one transaction.
public protocol ShellSessionStore: Sendable {
    /// Records a requested session to an accepted device, with a fresh random id, and an agent
    /// wake-up for the device in the same transaction. Throws
    /// `AdminError.input` for a request out of bounds, `.notFound` for an unknown device, and
    /// `.conflict` when the device is not accepted or already has `maxOpenPerDevice` sessions
    /// requested or open.
    func openShellSession(_ request: ShellSessionRequest, maxOpenPerDevice: Int) async throws -> ShellSessionRecord
    /// The device's requested sessions, oldest first (what its update answer offers).
    func pendingShellSessions(fingerprint: String) async throws -> [ShellSessionRecord]
    /// Requested -> open, once, by the device it was opened to (still accepted), recording its key
    /// and the SHA-256 of the token its frame calls will bring. Throws `AdminError.notFound` when
    /// that device has no session of this id, `.conflict` when it is not requested any more.
    func acceptShellSession(
        id: String, fingerprint: String, deviceKey: Data, tokenHash: Data, proof: ShellAcceptProof?, at: Date
    ) async throws -> ShellSessionRecord
    /// Requested -> refused by the device it was opened to; errors as for accepting.
    func refuseShellSession(id: String, fingerprint: String, reason: String, at: Date) async throws -> ShellSessionRecord
    /// Queues frames of an open session in one direction and returns their sequence numbers; adds
    /// their bytes to the session's counter and touches its last activity. Throws
    /// `ShellFramesRefused`, storing none of them, when one is out of bounds, when they would take
    /// the direction past `ShellFrameBounds`, or when the session is not open.
    /// `first`: the sequence number the sender numbers the batch's first frame with (it counts
    /// its frames); a batch sent again after its answer was lost is then stored once: frames below
    /// the direction's next number are taken as stored already, a batch past it is refused (`gap`).
    /// nil numbers them on from the last.
    func appendShellFrames(id: String, direction: ShellDirection, frames: [Data], first: Int64?, at: Date) async throws -> [Int64]
    /// Up to `limit` frames after `after`, oldest first; the ones at or below `after` are deleted
    /// (the reader asking past them acknowledged them). Throws `AdminError.notFound` for an
    /// unknown session.
    func shellFrames(id: String, direction: ShellDirection, after: Int64, limit: Int) async throws -> [ShellStoredFrame]
    /// Closes a session that is requested or open; true when it closed it now, false when it was
    /// closed or refused already (keeping the first reason) or is unknown. Its waiting frames stay
    /// for the other side to read (the sweep deletes them later).
    func closeShellSession(id: String, reason: String, at: Date) async throws -> Bool
    /// Closes the sessions the device never answered and those nobody used, deletes the frames
    /// of sessions closed long enough ago, and prunes old agent wake-ups (see `ShellSweepPolicy`).
    func sweepShellSessions(_ policy: ShellSweepPolicy, now: Date) async throws -> [ShellSweepClosure]
    /// Up to `limit` frames after `after` with the session, reading only: what a waiting reader
    /// looks at again and again. Nil for an unknown session.
    func peekShellFrames(id: String, direction: ShellDirection, after: Int64, limit: Int) async throws
        -> (ShellSessionRecord, [ShellStoredFrame])?
    /// A device's newest `limit` sessions, newest first, in any state.
    func shellSessions(fingerprint: String, limit: Int) async throws -> [ShellSessionRecord]
    /// Every session requested or open, oldest first.
    func openShellSessions() async throws -> [ShellSessionRecord]
    /// The session, for the admin side (which checks `openedBy` itself).
    func shellSession(id: String) async throws -> ShellSessionRecord?
    /// The session for the device's frame calls: only when it was opened to `fingerprint`, was
    /// accepted and `tokenHash` is the hash recorded then (compared in constant time); else nil.
    func shellSession(id: String, fingerprint: String, tokenHash: Data) async throws -> ShellSessionRecord?
}

extension ShellSessionStore {
    public func appendShellFrames(id: String, direction: ShellDirection, frames: [Data], at: Date) async throws -> [Int64] {
        try await appendShellFrames(id: id, direction: direction, frames: frames, first: nil, at: at)
    }

    /// Accepts without keeping the device's signed request (stores' own tests).
    public func acceptShellSession(
        id: String, fingerprint: String, deviceKey: Data, tokenHash: Data, at: Date
    ) async throws -> ShellSessionRecord {
        try await acceptShellSession(id: id, fingerprint: fingerprint, deviceKey: deviceKey, tokenHash: tokenHash, proof: nil, at: at)
    }

    /// Two live sessions per device: one may be left hanging while the admin opens another.
    public static var defaultMaxOpenPerDevice: Int { 2 }

    public func openShellSession(_ request: ShellSessionRequest) async throws -> ShellSessionRecord {
        try await openShellSession(request, maxOpenPerDevice: Self.defaultMaxOpenPerDevice)
    }
}
