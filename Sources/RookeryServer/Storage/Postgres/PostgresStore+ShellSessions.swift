import Foundation
import PostgresNIO
import RookeryCore

/// Shell sessions as `SQLiteStore` keeps them. Where SQLite's one writer serialises everything,
/// these lock the row a decision reads: the device's when counting its live sessions, the
/// session's when answering it or queuing frames, so two server processes take turns.
extension PostgresStore: ShellSessionStore {
    public func openShellSession(_ request: ShellSessionRequest, maxOpenPerDevice: Int) async throws -> ShellSessionRecord {
        try request.validate()
        let id = ShellSessionStorage.newSessionID()
        let logger = logger
        return try await transaction { connection in
            let state = try await connection.query(
                "SELECT state FROM devices WHERE fingerprint = \(request.fingerprint) FOR NO KEY UPDATE", logger: logger
            ).single(String.self)
            let live =
                try await connection.query(
                    """
                    SELECT count(*) FROM shell_sessions WHERE fingerprint = \(request.fingerprint) AND state IN ('requested', 'open')
                    """, logger: logger
                ).single(Int.self) ?? 0
            if let refusal = ShellSessionStorage.refusal(
                deviceState: state, fingerprint: request.fingerprint, live: live, maxOpenPerDevice: maxOpenPerDevice)
            {
                throw refusal
            }
            try await connection.query(
                """
                INSERT INTO shell_sessions (id, fingerprint, opened_by, opened_at, state, admin_key, term, rows, columns, command,
                                            last_activity)
                VALUES (\(id), \(request.fingerprint), \(request.openedBy), \(request.at), 'requested', \(request.adminKey),
                        \(request.term), \(request.rows.map(Int64.init)), \(request.columns.map(Int64.init)), \(request.command),
                        \(request.at))
                """, logger: logger)
            try await Self.recordAgentWakeup(fingerprint: request.fingerprint, at: request.at, on: connection, logger: logger)
            return try await Self.shellSession(id: id, on: connection, logger: logger)!
        }
    }

    public func pendingShellSessions(fingerprint: String) async throws -> [ShellSessionRecord] {
        try await Self.shellSessions(
            try await pool.query(
                """
                SELECT \(unescaped: Self.shellSessionColumns) FROM shell_sessions
                WHERE fingerprint = \(fingerprint) AND state = 'requested' ORDER BY opened_at, number
                """, logger: logger))
    }

    public func acceptShellSession(
        id: String, fingerprint: String, deviceKey: Data, tokenHash: Data, proof: ShellAcceptProof?, at: Date
    ) async throws -> ShellSessionRecord {
        try ShellSessionStorage.checkAccept(deviceKey: deviceKey, tokenHash: tokenHash)
        let logger = logger
        return try await transaction { connection in
            try await Self.requireRequested(id: id, fingerprint: fingerprint, on: connection, logger: logger)
            try await connection.query(
                """
                UPDATE shell_sessions SET state = 'open', device_key = \(deviceKey), device_token_hash = \(tokenHash),
                    last_activity = \(at), accept_body = \(proof?.body), accept_signature = \(proof?.signature)
                WHERE id = \(id)
                """, logger: logger)
            return try await Self.shellSession(id: id, on: connection, logger: logger)!
        }
    }

    public func refuseShellSession(id: String, fingerprint: String, reason: String, at: Date) async throws -> ShellSessionRecord {
        try ShellSessionStorage.checkRefusal(reason: reason)
        let logger = logger
        return try await transaction { connection in
            try await Self.requireRequested(id: id, fingerprint: fingerprint, on: connection, logger: logger)
            try await connection.query(
                """
                UPDATE shell_sessions SET state = 'refused', closed_at = \(at), close_reason = \(Self.storable(reason)), last_activity = \(at)
                WHERE id = \(id)
                """, logger: logger)
            return try await Self.shellSession(id: id, on: connection, logger: logger)!
        }
    }

    private static func requireRequested(id: String, fingerprint: String, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        var states: (String, String)?
        for try await row in try await connection.query(
            """
            SELECT s.state, d.state FROM shell_sessions s JOIN devices d ON d.fingerprint = s.fingerprint
            WHERE s.id = \(id) AND s.fingerprint = \(fingerprint) FOR UPDATE OF s
            """, logger: logger
        ).decode((String, String).self) {
            states = row
        }
        if let refusal = ShellSessionStorage.answerRefusal(id: id, sessionState: states?.0, deviceState: states?.1) {
            throw refusal
        }
    }

    public func appendShellFrames(
        id: String, direction: ShellDirection, frames: [Data], first: Int64?, at: Date
    ) async throws -> [Int64] {
        try ShellSessionStorage.checkSizes(frames)
        let column = direction.column
        let logger = logger
        return try await transaction { connection in
            var session: (String, Int64)?
            for try await row in try await connection.query(
                "SELECT state, frames_\(unescaped: column) FROM shell_sessions WHERE id = \(id) FOR UPDATE", logger: logger
            ).decode((String, Int64).self) {
                session = row
            }
            guard let (state, queued) = session, state == ShellSessionRecord.State.open.rawValue else {
                throw ShellFramesRefused.notOpen
            }
            // Frames the sender numbered below the next one were stored by an earlier try.
            let skipped = try ShellSessionStorage.alreadyStored(first: first, next: queued + 1, count: frames.count)
            let batch = Array(frames.dropFirst(skipped))
            guard !batch.isEmpty else { return first.map { Array($0..<($0 + Int64(skipped))) } ?? [] }
            var waiting = (frames: 0, bytes: 0)
            for try await (count, bytes) in try await connection.query(
                """
                SELECT count(*), coalesce(sum(length(frame)), 0)::bigint FROM shell_frames
                WHERE session_id = \(id) AND direction = \(column)
                """, logger: logger
            ).decode((Int64, Int64).self) {
                waiting = (Int(count), Int(bytes))
            }
            try ShellSessionStorage.checkRoom(for: batch, waitingFrames: waiting.frames, waitingBytes: waiting.bytes)
            let seqs = batch.indices.map { queued + 1 + Int64($0) }
            try await connection.query(
                """
                INSERT INTO shell_frames (session_id, direction, seq, frame)
                SELECT \(id), \(column), seq, decode(frame, 'base64')
                FROM unnest(\(seqs)::bigint[], \(batch.map { $0.base64EncodedString() })::text[]) AS f(seq, frame)
                """, logger: logger)
            let addedBytes = Int64(batch.reduce(0) { $0 + $1.count })
            try await connection.query(
                """
                UPDATE shell_sessions SET frames_\(unescaped: column) = frames_\(unescaped: column) + \(Int64(batch.count)),
                    bytes_\(unescaped: column) = bytes_\(unescaped: column) + \(addedBytes), last_activity = \(at)
                WHERE id = \(id)
                """, logger: logger)
            return seqs
        }
    }

    public func shellFrames(id: String, direction: ShellDirection, after: Int64, limit: Int) async throws -> [ShellStoredFrame] {
        let limit = Int64(min(max(limit, 0), ShellFrameBounds.maxWaiting))
        let column = direction.column
        let logger = logger
        return try await transaction { connection in
            let exists = try await connection.query(
                "SELECT EXISTS (SELECT 1 FROM shell_sessions WHERE id = \(id))", logger: logger
            ).single(Bool.self)
            guard exists == true else { throw AdminError.notFound("there is no shell session \(id)") }
            try await connection.query(
                "DELETE FROM shell_frames WHERE session_id = \(id) AND direction = \(column) AND seq <= \(after)", logger: logger)
            return try await Self.frames(id: id, column: column, after: after, limit: limit, on: connection, logger: logger)
        }
    }

    private static func frames(
        id: String, column: String, after: Int64, limit: Int64, on connection: PostgresConnection, logger: Logger
    ) async throws -> [ShellStoredFrame] {
        var frames: [ShellStoredFrame] = []
        for try await (seq, frame) in try await connection.query(
            """
            SELECT seq, frame FROM shell_frames WHERE session_id = \(id) AND direction = \(column) AND seq > \(after)
            ORDER BY seq LIMIT \(limit)
            """, logger: logger
        ).decode((Int64, Data).self) {
            frames.append(ShellStoredFrame(seq: seq, frame: frame))
        }
        return frames
    }

    public func closeShellSession(id: String, reason: String, at: Date) async throws -> Bool {
        let closed = try await pool.query(
            """
            UPDATE shell_sessions SET state = 'closed', closed_at = \(at), close_reason = \(Self.storable(ShellSessionStorage.storedReason(reason)))
            WHERE id = \(id) AND state IN ('requested', 'open') RETURNING id
            """, logger: logger
        ).single(String.self)
        return closed != nil
    }

    public func sweepShellSessions(_ policy: ShellSweepPolicy, now: Date) async throws -> [ShellSweepClosure] {
        let unanswered = ShellSessionStorage.storedReason(ShellSweepPolicy.unansweredReason(policy.unansweredSeconds))
        let idle = ShellSessionStorage.storedReason(ShellSweepPolicy.idleReason(policy.idleSeconds))
        let logger = logger
        return try await transaction { connection in
            // Unanswered first: a requested session is idle too, but that is not why it ends.
            // Each list in the order the sessions were requested, as SQLite's rowid gives them.
            let closed =
                try await Self.closures(
                    connection.query(
                        """
                        WITH closed AS (
                            UPDATE shell_sessions SET state = 'closed', closed_at = \(now), close_reason = \(unanswered)
                            WHERE state = 'requested' AND opened_at < \(now - TimeInterval(policy.unansweredSeconds))
                            RETURNING id, fingerprint, close_reason, number)
                        SELECT id, fingerprint, close_reason FROM closed ORDER BY number
                        """, logger: logger))
                + Self.closures(
                    connection.query(
                        """
                        WITH closed AS (
                            UPDATE shell_sessions SET state = 'closed', closed_at = \(now), close_reason = \(idle)
                            WHERE state IN ('requested', 'open') AND last_activity < \(now - TimeInterval(policy.idleSeconds))
                            RETURNING id, fingerprint, close_reason, number)
                        SELECT id, fingerprint, close_reason FROM closed ORDER BY number
                        """, logger: logger))
            try await connection.query(
                """
                DELETE FROM shell_frames WHERE session_id IN
                    (SELECT id FROM shell_sessions WHERE state IN ('closed', 'refused')
                     AND closed_at < \(now - TimeInterval(policy.keepClosedFramesSeconds)))
                """, logger: logger)
            try await connection.query(
                "DELETE FROM agent_wakeups WHERE at < \(now - TimeInterval(policy.keepWakeupsSeconds))", logger: logger)
            return closed
        }
    }

    private static func closures(_ rows: PostgresRowSequence) async throws -> [ShellSweepClosure] {
        var closures: [ShellSweepClosure] = []
        for try await (id, fingerprint, reason) in rows.decode((String, String, String).self) {
            closures.append(ShellSweepClosure(id: id, fingerprint: fingerprint, reason: reason))
        }
        return closures
    }

    public func peekShellFrames(id: String, direction: ShellDirection, after: Int64, limit: Int) async throws
        -> (ShellSessionRecord, [ShellStoredFrame])?
    {
        let limit = Int64(min(max(limit, 0), ShellFrameBounds.maxWaiting))
        let column = direction.column
        let logger = logger
        return try await pool.withConnection { connection in
            guard let record = try await Self.shellSession(id: id, on: connection, logger: logger) else { return nil }
            let frames = try await Self.frames(id: id, column: column, after: after, limit: limit, on: connection, logger: logger)
            return (record, frames)
        }
    }

    public func shellSessions(fingerprint: String, limit: Int) async throws -> [ShellSessionRecord] {
        try await Self.shellSessions(
            try await pool.query(
                """
                SELECT \(unescaped: Self.shellSessionColumns) FROM shell_sessions WHERE fingerprint = \(fingerprint)
                ORDER BY opened_at DESC, number DESC LIMIT \(Int64(max(limit, 0)))
                """, logger: logger))
    }

    public func openShellSessions() async throws -> [ShellSessionRecord] {
        try await Self.shellSessions(
            try await pool.query(
                """
                SELECT \(unescaped: Self.shellSessionColumns) FROM shell_sessions WHERE state IN ('requested', 'open')
                ORDER BY opened_at, number
                """, logger: logger))
    }

    public func shellSession(id: String) async throws -> ShellSessionRecord? {
        let logger = logger
        return try await pool.withConnection { connection in
            try await Self.shellSession(id: id, on: connection, logger: logger)
        }
    }

    public func shellSession(id: String, fingerprint: String, tokenHash: Data) async throws -> ShellSessionRecord? {
        let logger = logger
        return try await pool.withConnection { connection in
            let stored = try await connection.query(
                "SELECT device_token_hash FROM shell_sessions WHERE id = \(id) AND fingerprint = \(fingerprint)", logger: logger
            ).single(Data?.self)
            guard let stored = stored ?? nil, ConstantTime.equal(stored, tokenHash) else { return nil }
            return try await Self.shellSession(id: id, on: connection, logger: logger)
        }
    }

    private static func shellSession(id: String, on connection: PostgresConnection, logger: Logger) async throws
        -> ShellSessionRecord?
    {
        try await shellSessions(
            try await connection.query(
                "SELECT \(unescaped: shellSessionColumns) FROM shell_sessions WHERE id = \(id)", logger: logger)
        ).first
    }

    private static let shellSessionColumns = """
        id, fingerprint, opened_by, opened_at, state, admin_key, device_key, term, rows, columns, command, last_activity,
        bytes_to_device, bytes_to_admin, closed_at, close_reason, accept_body, accept_signature
        """

    private typealias ShellSessionRow = (
        String, String, String, Date, String, Data, Data?, String?, Int64?, Int64?, String?, Date, Int64, Int64, Date?,
        String?, Data?, Data?
    )

    private static func shellSessions(_ rows: PostgresRowSequence) async throws -> [ShellSessionRecord] {
        var records: [ShellSessionRecord] = []
        for try await row in rows.decode(ShellSessionRow.self) { records.append(shellSessionRecord(from: row)) }
        return records
    }

    private static func shellSessionRecord(from row: ShellSessionRow) -> ShellSessionRecord {
        var record = ShellSessionRecord(
            id: row.0, fingerprint: row.1, openedBy: row.2, openedAt: row.3,
            // The table's CHECK admits only these states.
            state: ShellSessionRecord.State(rawValue: row.4) ?? .closed,
            adminKey: row.5, deviceKey: row.6, term: row.7, rows: row.8.map { Int($0) }, columns: row.9.map { Int($0) },
            command: row.10, lastActivity: row.11, bytesToDevice: row.12, bytesToAdmin: row.13, closedAt: row.14,
            closeReason: row.15)
        if let body = row.16, let signature = row.17 { record.acceptProof = ShellAcceptProof(body: body, signature: signature) }
        return record
    }
}
