import Foundation
import GRDB
import RookeryCore

extension SQLiteStore {
    public func openShellSession(_ request: ShellSessionRequest, maxOpenPerDevice: Int) async throws -> ShellSessionRecord {
        try request.validate()
        let id = ShellSessionStorage.newSessionID()
        return try await pool.write { db in
            let state = try String.fetchOne(
                db, sql: "SELECT state FROM devices WHERE fingerprint = ?", arguments: [request.fingerprint])
            let live =
                try Int.fetchOne(
                    db,
                    sql: "SELECT count(*) FROM shell_sessions WHERE fingerprint = ? AND state IN ('requested', 'open')",
                    arguments: [request.fingerprint]) ?? 0
            if let refusal = ShellSessionStorage.refusal(
                deviceState: state, fingerprint: request.fingerprint, live: live, maxOpenPerDevice: maxOpenPerDevice)
            {
                throw refusal
            }
            try db.execute(
                sql: """
                    INSERT INTO shell_sessions (id, fingerprint, opened_by, opened_at, state, admin_key, term,
                                                rows, columns, command, last_activity)
                    VALUES (?, ?, ?, ?, 'requested', ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    id, request.fingerprint, request.openedBy, request.at, request.adminKey, request.term,
                    request.rows, request.columns, request.command, request.at
                ])
            try Self.recordAgentWakeup(fingerprint: request.fingerprint, at: request.at, in: db)
            return try Self.shellSession(id: id, in: db)!
        }
    }

    public func pendingShellSessions(fingerprint: String) async throws -> [ShellSessionRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM shell_sessions WHERE fingerprint = ? AND state = 'requested' ORDER BY opened_at, rowid
                    """, arguments: [fingerprint]
            ).map(Self.shellSessionRecord(from:))
        }
    }

    public func acceptShellSession(
        id: String, fingerprint: String, deviceKey: Data, tokenHash: Data, proof: ShellAcceptProof?, at: Date
    ) async throws -> ShellSessionRecord {
        try ShellSessionStorage.checkAccept(deviceKey: deviceKey, tokenHash: tokenHash)
        return try await pool.write { db in
            try Self.requireRequested(id: id, fingerprint: fingerprint, in: db)
            try db.execute(
                sql: """
                    UPDATE shell_sessions SET state = 'open', device_key = ?, device_token_hash = ?, last_activity = ?,
                        accept_body = ?, accept_signature = ?
                    WHERE id = ?
                    """, arguments: [deviceKey, tokenHash, at, proof?.body, proof?.signature, id])
            return try Self.shellSession(id: id, in: db)!
        }
    }

    public func refuseShellSession(id: String, fingerprint: String, reason: String, at: Date) async throws -> ShellSessionRecord {
        try ShellSessionStorage.checkRefusal(reason: reason)
        return try await pool.write { db in
            try Self.requireRequested(id: id, fingerprint: fingerprint, in: db)
            try db.execute(
                sql: """
                    UPDATE shell_sessions SET state = 'refused', closed_at = ?, close_reason = ?, last_activity = ?
                    WHERE id = ?
                    """, arguments: [at, reason, at, id])
            return try Self.shellSession(id: id, in: db)!
        }
    }

    private static func requireRequested(id: String, fingerprint: String, in db: Database) throws {
        let row = try Row.fetchOne(
            db,
            sql: """
                SELECT s.state, d.state AS device_state FROM shell_sessions s
                JOIN devices d ON d.fingerprint = s.fingerprint
                WHERE s.id = ? AND s.fingerprint = ?
                """, arguments: [id, fingerprint])
        if let refusal = ShellSessionStorage.answerRefusal(id: id, sessionState: row?["state"], deviceState: row?["device_state"]) {
            throw refusal
        }
    }

    public func appendShellFrames(
        id: String, direction: ShellDirection, frames: [Data], first: Int64?, at: Date
    ) async throws -> [Int64] {
        try ShellSessionStorage.checkSizes(frames)
        let column = direction.column
        return try await pool.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT state, frames_\(column) AS queued FROM shell_sessions WHERE id = ?",
                    arguments: [id]),
                row["state"] == ShellSessionRecord.State.open.rawValue
            else { throw ShellFramesRefused.notOpen }
            let queued: Int64 = row["queued"]
            // Frames the sender numbered below the next one were stored by an earlier try.
            let skipped = try ShellSessionStorage.alreadyStored(first: first, next: queued + 1, count: frames.count)
            let batch = Array(frames.dropFirst(skipped))
            guard !batch.isEmpty else { return first.map { Array($0..<($0 + Int64(skipped))) } ?? [] }
            let waiting = try Row.fetchOne(
                db,
                sql: """
                    SELECT count(*) AS frames, coalesce(sum(length(frame)), 0) AS bytes FROM shell_frames
                    WHERE session_id = ? AND direction = ?
                    """, arguments: [id, column])!
            let waitingFrames: Int = waiting["frames"]
            let waitingBytes: Int = waiting["bytes"]
            try ShellSessionStorage.checkRoom(for: batch, waitingFrames: waitingFrames, waitingBytes: waitingBytes)
            let addedBytes = batch.reduce(0) { $0 + $1.count }
            let seqs = batch.indices.map { queued + 1 + Int64($0) }
            let insert = try db.cachedStatement(
                sql: "INSERT INTO shell_frames (session_id, direction, seq, frame) VALUES (?, ?, ?, ?)")
            for (seq, frame) in zip(seqs, batch) {
                try insert.execute(arguments: [id, column, seq, frame])
            }
            try db.execute(
                sql: """
                    UPDATE shell_sessions SET frames_\(column) = frames_\(column) + ?,
                        bytes_\(column) = bytes_\(column) + ?, last_activity = ?
                    WHERE id = ?
                    """, arguments: [batch.count, addedBytes, at, id])
            return seqs
        }
    }

    public func shellFrames(id: String, direction: ShellDirection, after: Int64, limit: Int) async throws -> [ShellStoredFrame] {
        let limit = min(max(limit, 0), ShellFrameBounds.maxWaiting)
        let column = direction.column
        return try await pool.write { db in
            guard try Self.shellSessionExists(id: id, in: db) else {
                throw AdminError.notFound("there is no shell session \(id)")
            }
            try db.execute(
                sql: "DELETE FROM shell_frames WHERE session_id = ? AND direction = ? AND seq <= ?",
                arguments: [id, column, after])
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT seq, frame FROM shell_frames WHERE session_id = ? AND direction = ? AND seq > ?
                    ORDER BY seq LIMIT ?
                    """, arguments: [id, column, after, limit]
            ).map { ShellStoredFrame(seq: $0["seq"], frame: $0["frame"]) }
        }
    }

    public func closeShellSession(id: String, reason: String, at: Date) async throws -> Bool {
        try await pool.write { db in
            try Self.closeShellSessions(
                where: "id = ? AND state IN ('requested', 'open')", [id], reason: { _ in reason }, at: at, in: db
            ).count == 1
        }
    }

    public func sweepShellSessions(_ policy: ShellSweepPolicy, now: Date) async throws -> [ShellSweepClosure] {
        let unanswered = ShellSweepPolicy.unansweredReason(policy.unansweredSeconds)
        let idle = ShellSweepPolicy.idleReason(policy.idleSeconds)
        return try await pool.write { db in
            // Unanswered first: a requested session is idle too, but that is not why it ends.
            let closed =
                try Self.closeShellSessions(
                    where: "state = 'requested' AND opened_at < ?", [now - TimeInterval(policy.unansweredSeconds)],
                    reason: { _ in unanswered }, at: now, in: db)
                + Self.closeShellSessions(
                    where: "state IN ('requested', 'open') AND last_activity < ?", [now - TimeInterval(policy.idleSeconds)],
                    reason: { _ in idle }, at: now, in: db)
            try db.execute(
                sql: """
                    DELETE FROM shell_frames WHERE session_id IN
                        (SELECT id FROM shell_sessions WHERE state IN ('closed', 'refused') AND closed_at < ?)
                    """, arguments: [now - TimeInterval(policy.keepClosedFramesSeconds)])
            try db.execute(
                sql: "DELETE FROM agent_wakeups WHERE at < ?", arguments: [now - TimeInterval(policy.keepWakeupsSeconds)])
            return closed
        }
    }

    /// Closes the sessions matching `condition`, keeping their frames; returns them.
    private static func closeShellSessions(
        where condition: String, _ arguments: StatementArguments, reason: (String) -> String, at: Date, in db: Database
    ) throws -> [ShellSweepClosure] {
        let rows = try Row.fetchAll(db, sql: "SELECT id, fingerprint FROM shell_sessions WHERE \(condition)", arguments: arguments)
        return try rows.map { row in
            let closure = ShellSweepClosure(
                id: row["id"], fingerprint: row["fingerprint"],
                reason: ShellSessionStorage.storedReason(reason(row["id"])))
            try db.execute(
                sql: "UPDATE shell_sessions SET state = 'closed', closed_at = ?, close_reason = ? WHERE id = ?",
                arguments: [at, closure.reason, closure.id])
            return closure
        }
    }

    public func peekShellFrames(id: String, direction: ShellDirection, after: Int64, limit: Int) async throws
        -> (ShellSessionRecord, [ShellStoredFrame])?
    {
        let limit = min(max(limit, 0), ShellFrameBounds.maxWaiting)
        let column = direction.column
        return try await pool.read { db in
            guard let record = try Self.shellSession(id: id, in: db) else { return nil }
            let frames = try Row.fetchAll(
                db,
                sql: """
                    SELECT seq, frame FROM shell_frames WHERE session_id = ? AND direction = ? AND seq > ?
                    ORDER BY seq LIMIT ?
                    """, arguments: [id, column, after, limit]
            ).map { ShellStoredFrame(seq: $0["seq"], frame: $0["frame"]) }
            return (record, frames)
        }
    }

    public func shellSessions(fingerprint: String, limit: Int) async throws -> [ShellSessionRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM shell_sessions WHERE fingerprint = ? ORDER BY opened_at DESC, rowid DESC LIMIT ?",
                arguments: [fingerprint, max(limit, 0)]
            ).map(Self.shellSessionRecord(from:))
        }
    }

    public func openShellSessions() async throws -> [ShellSessionRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM shell_sessions WHERE state IN ('requested', 'open') ORDER BY opened_at, rowid"
            ).map(Self.shellSessionRecord(from:))
        }
    }

    public func shellSession(id: String) async throws -> ShellSessionRecord? {
        try await pool.read { db in try Self.shellSession(id: id, in: db) }
    }

    public func shellSession(id: String, fingerprint: String, tokenHash: Data) async throws -> ShellSessionRecord? {
        try await pool.read { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM shell_sessions WHERE id = ? AND fingerprint = ?",
                    arguments: [id, fingerprint]),
                let stored = row["device_token_hash"] as Data?,
                ConstantTime.equal(stored, tokenHash)
            else { return nil }
            return Self.shellSessionRecord(from: row)
        }
    }

    private static func shellSessionExists(id: String, in db: Database) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM shell_sessions WHERE id = ?)", arguments: [id]) ?? false
    }

    private static func shellSession(id: String, in db: Database) throws -> ShellSessionRecord? {
        try Row.fetchOne(db, sql: "SELECT * FROM shell_sessions WHERE id = ?", arguments: [id])
            .map(shellSessionRecord(from:))
    }

    private static func shellSessionRecord(from row: Row) -> ShellSessionRecord {
        var record = ShellSessionRecord(
            id: row["id"], fingerprint: row["fingerprint"], openedBy: row["opened_by"], openedAt: row["opened_at"],
            // The table's CHECK admits only these states.
            state: ShellSessionRecord.State(rawValue: row["state"]) ?? .closed,
            adminKey: row["admin_key"], deviceKey: row["device_key"], term: row["term"], rows: row["rows"],
            columns: row["columns"], command: row["command"], lastActivity: row["last_activity"],
            bytesToDevice: row["bytes_to_device"], bytesToAdmin: row["bytes_to_admin"],
            closedAt: row["closed_at"], closeReason: row["close_reason"])
        if let body: Data = row["accept_body"], let signature: Data = row["accept_signature"] {
            record.acceptProof = ShellAcceptProof(body: body, signature: signature)
        }
        return record
    }
}
