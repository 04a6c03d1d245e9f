import Crypto
import Foundation
import Logging
import RookeryCore

/// The life of a shell session as the admin and the device see it: open, its state (waited on),
/// the list, close; the device's accept and refuse. Every change is logged with who, device,
/// session id and bytes, never content, and wakes what waits on it in this process.
public struct ShellSessionService: Sendable {
    let store: any Store
    let waiters: ShellWaiters
    let logger: Logger

    /// The longest `state?wait=` and how often a waiting state call looks again for a change
    /// made through another process.
    static let maxStateWait = 25
    static let stateRecheck = Duration.milliseconds(250)

    public func open(_ body: ShellOpenBody, openedBy: String, now: Date = Date()) async throws -> ShellOpenAnswer {
        let device = try await resolve(body.host)
        let request = ShellSessionRequest(
            fingerprint: device.fingerprint, openedBy: openedBy, adminKey: body.adminKey, term: body.term,
            rows: body.rows, columns: body.columns, command: body.command, at: now)
        let record: ShellSessionRecord
        do {
            record = try await store.openShellSession(request)
        } catch let error as AdminError {
            throw ShellRefusal.answer(for: error)
        }
        waiters.wake(ShellWaiters.device(device.fingerprint))
        logger.notice(
            "shell opened",
            metadata: [
                "session": "\(record.id)", "by": "\(openedBy)", "device": "\(device.fingerprint)",
                "host": "\(LogText.escaped(device.hostname))", "command": "\(record.command == nil ? "no" : "yes")"
            ])
        return ShellOpenAnswer(sessionID: record.id, fingerprint: device.fingerprint, host: device.hostname, state: record.state.rawValue)
    }

    /// A host name or a fingerprint. A name held by one accepted device names it, whatever old
    /// keys (revoked, say) still carry it; held by several accepted keys, it is a conflict naming
    /// them, so the admin passes the right one.
    private func resolve(_ host: String) async throws -> Device {
        guard !host.isEmpty, host.utf8.count <= 256 else { throw ProtocolError(.malformed, "host must be 1 to 256 bytes") }
        let matches = try await store.devices(named: host)
        let accepted = matches.filter { $0.state == .accepted }
        if accepted.count == 1 { return accepted[0] }
        guard let first = matches.first else { throw ProtocolError(.notFound, "no device named \(LogText.escaped(host))") }
        guard matches.count == 1 else {
            throw ShellRefusal.conflict(
                "\(LogText.escaped(host)) names several devices; pass one fingerprint: "
                    + matches.map { "\($0.fingerprint) (\($0.state.rawValue))" }.joined(separator: ", "))
        }
        return first
    }

    /// The session's state for the admin who opened it (anyone else: as for an unknown id). With
    /// `wait`, answers once it is no longer requested or after that long.
    public func state(
        id: String, openedBy: String, wait: Int, connectionOpen: @Sendable () -> Bool = { true }
    ) async throws -> ShellStateAnswer {
        let ticket = waiters.register(ShellWaiters.state(id))
        defer { waiters.unregister(ticket) }
        let deadline = ContinuousClock.now + .seconds(min(max(wait, 0), Self.maxStateWait))
        while true {
            let record = try await ownRecord(id: id, openedBy: openedBy)
            let remaining = ContinuousClock.now.duration(to: deadline)
            if record.state != .requested || remaining <= .zero || !connectionOpen() || waiters.isStopped {
                return try await answer(record)
            }
            await waiters.sleep(ticket, for: min(remaining, Self.stateRecheck))
            try Task.checkCancellation()
        }
    }

    /// The session when `openedBy` opened it; else 404, as for an id that does not exist.
    func ownRecord(id: String, openedBy: String) async throws -> ShellSessionRecord {
        guard let record = try await store.shellSession(id: id), record.openedBy == openedBy else {
            throw ProtocolError(.notFound, "no shell session \(id) opened by \(openedBy)")
        }
        return record
    }

    private func answer(_ record: ShellSessionRecord) async throws -> ShellStateAnswer {
        let device = try await store.device(fingerprint: record.fingerprint)
        return ShellStateAnswer(
            sessionID: record.id, fingerprint: record.fingerprint, host: device?.hostname ?? "?",
            state: record.state.rawValue, openedBy: record.openedBy, deviceKey: record.deviceKey,
            closeReason: record.closeReason, acceptBody: record.acceptProof?.body,
            acceptSignature: record.acceptProof?.signature,
            devicePublicKey: record.acceptProof == nil ? nil : device?.publicKey)
    }

    private func hostname(_ fingerprint: String) async throws -> String {
        try await store.device(fingerprint: fingerprint)?.hostname ?? "?"
    }

    public func list() async throws -> ShellListAnswer {
        var entries: [ShellListEntry] = []
        for record in try await store.openShellSessions() {
            entries.append(
                ShellListEntry(
                    sessionID: record.id, fingerprint: record.fingerprint, host: try await hostname(record.fingerprint),
                    state: record.state.rawValue, openedBy: record.openedBy, openedAt: RFC3339.string(from: record.openedAt),
                    lastActivity: RFC3339.string(from: record.lastActivity), bytesToDevice: record.bytesToDevice,
                    bytesToAdmin: record.bytesToAdmin, command: record.command))
        }
        return ShellListAnswer(sessions: entries)
    }

    /// Closes a session for `who` (an admin's identity, or `device FINGERPRINT`).
    public func close(id: String, reason: String, by who: String, now: Date = Date()) async throws -> ShellCloseAnswer {
        let reason = String(reason.utf8.prefix(ShellMessage.maxReasonCount)) ?? "closed"
        let closed = try await store.closeShellSession(id: id, reason: reason, at: now)
        if closed, let record = try await store.shellSession(id: id) {
            wakeAll(id)
            log("shell closed", record, by: who, reason: reason)
        }
        return ShellCloseAnswer(closed: closed)
    }

    /// `signature`: the request's detached signature, kept with its body for the admin's side.
    public func accept(
        _ request: Verified<ShellAcceptRequest>, signature: Data?, now: Date = Date()
    ) async throws -> ShellAcceptAnswer {
        var token = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in token.indices { token[index] = generator.next() }
        let record: ShellSessionRecord
        do {
            record = try await store.acceptShellSession(
                id: request.message.sessionID, fingerprint: request.fingerprint, deviceKey: request.message.deviceKey,
                tokenHash: Data(SHA256.hash(data: token)),
                proof: signature.map { ShellAcceptProof(body: request.request.body, signature: $0) }, at: now)
        } catch let error as AdminError {
            throw ShellRefusal.answer(for: error)
        }
        wakeAll(record.id)
        log("shell accepted", record, by: "device \(request.fingerprint)")
        return ShellAcceptAnswer(sessionID: record.id, token: token.map { String(format: "%02x", $0) }.joined())
    }

    public func refuse(_ request: Verified<ShellRefuseRequest>, now: Date = Date()) async throws -> ShellRefuseAnswer {
        let record: ShellSessionRecord
        do {
            record = try await store.refuseShellSession(
                id: request.message.sessionID, fingerprint: request.fingerprint, reason: request.message.reason, at: now)
        } catch let error as AdminError {
            throw ShellRefusal.answer(for: error)
        }
        wakeAll(record.id)
        log("shell refused", record, by: "device \(request.fingerprint)", reason: record.closeReason)
        return ShellRefuseAnswer(sessionID: record.id, state: record.state.rawValue)
    }

    /// Whoever waits on the session in this process looks again: its state, or frames either way.
    func wakeAll(_ id: String) {
        waiters.wake(ShellWaiters.state(id))
        for direction in ShellDirection.allCases { waiters.wake(ShellWaiters.frames(id, direction)) }
    }

    func log(_ event: String, _ record: ShellSessionRecord, by who: String, reason: String? = nil) {
        var metadata: Logger.Metadata = [
            "session": "\(record.id)", "by": "\(LogText.escaped(who))", "device": "\(record.fingerprint)",
            "opened_by": "\(LogText.escaped(record.openedBy))", "bytes_to_device": "\(record.bytesToDevice)",
            "bytes_to_admin": "\(record.bytesToAdmin)"
        ]
        if let reason { metadata["reason"] = "\(LogText.escaped(reason))" }
        logger.notice("\(event)", metadata: metadata)
    }
}
