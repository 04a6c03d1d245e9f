import Foundation
import PostgresNIO
import RookeryCore

extension PostgresStore {
    public func commit(_ items: [CommitItem], pruneNoncesBefore: Date) async throws -> [Result<CommitOutcome, any Error>] {
        let logger = logger
        return try await transaction { connection in
            try await Self.pruneNonces(before: pruneNoncesBefore, on: connection, logger: logger)
            var results: [Result<CommitOutcome, any Error>] = []
            for item in items {
                results.append(try await Self.commit(item, on: connection, logger: logger))
            }
            return results
        }
    }

    /// One item, in a savepoint of its own inside the batch's transaction (see `Store.commit`).
    private static func commit(_ item: CommitItem, on connection: PostgresConnection, logger: Logger) async throws
        -> Result<CommitOutcome, any Error>
    {
        try await connection.query("SAVEPOINT item", logger: logger)
        do {
            var outcome = CommitOutcome.replay
            var keep = false
            if try await insertNonce(item.nonce, seenAt: item.seenAt, on: connection, logger: logger) {
                var stored: SubmissionOutcome?
                if let submission = item.submission {
                    stored = try await store(submission, history: item.history, prepared: item.prepared, on: connection, logger: logger)
                }
                outcome = .recorded(stored)
                // Checked against selectors that changed since: not even the nonce is kept.
                if case .secretSelectorsChanged? = stored {} else { keep = true }
            }
            try await connection.query(keep ? "RELEASE SAVEPOINT item" : "ROLLBACK TO SAVEPOINT item", logger: logger)
            return .success(outcome)
        } catch {
            // The item's savepoint is rolled back and the others go on; when even that fails
            // (the connection is gone), the batch fails and no item is answered as done.
            try await connection.query("ROLLBACK TO SAVEPOINT item", logger: logger)
            return .failure(error)
        }
    }

    /// Rows another process is pruning are left to it: no waiting on each other's locks.
    static func pruneNonces(before: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            DELETE FROM nonces WHERE nonce IN (SELECT nonce FROM nonces WHERE seen_at < \(before) FOR UPDATE SKIP LOCKED)
            """, logger: logger)
    }

    /// False when the nonce was recorded before. A process recording the same nonce at the
    /// same moment waits on the unique key for this transaction's end, then finds it recorded.
    static func insertNonce(_ nonce: String, seenAt: Date, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await connection.query(
            "INSERT INTO nonces (nonce, seen_at) VALUES (\(nonce), \(seenAt)) ON CONFLICT (nonce) DO NOTHING RETURNING nonce",
            logger: logger
        ).single(String.self) != nil
    }

    public func store(_ submission: Submission, history: HistoryPolicy) async throws -> SubmissionOutcome {
        let logger = logger
        return try await transaction { connection in
            try await Self.store(submission, history: history, prepared: nil, on: connection, logger: logger)
        }
    }

    /// Stores a submission, or refuses it before writing anything (as `SQLiteStore.store`).
    /// The device's row is locked first, so two processes storing submissions of one device
    /// take turns: each works its changes out against the document the other left.
    static func store(
        _ submission: Submission, history: HistoryPolicy, prepared: SubmissionWrite?,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> SubmissionOutcome {
        let fingerprint = submission.fingerprint
        var device: (state: String, unpruned: Int64)?
        for try await row in try await connection.query(
            "SELECT state, history_unpruned FROM devices WHERE fingerprint = \(fingerprint) FOR UPDATE", logger: logger
        ).decode((String, Int64).self) {
            device = (row.0, row.1)
        }
        guard let device, device.state == DeviceState.accepted.rawValue else {
            return .deviceNotAccepted(device.flatMap { DeviceState(rawValue: $0.state) })
        }
        // Changing the selectors waits for this transaction (and this one for it), so the
        // check and the store see the same selectors.
        try await connection.query("SELECT pg_advisory_xact_lock_shared(\(secretSelectorsLock))", logger: logger)
        let selectors = try await secretSelectors(on: connection, logger: logger)
        guard selectors == submission.secretSelectors else { return .secretSelectorsChanged(selectors) }
        let storedBefore = try await connection.query(
            """
            SELECT EXISTS (SELECT 1 FROM submissions WHERE fingerprint = \(fingerprint) AND submission_id = \(submission.submissionID))
            """, logger: logger
        ).single(Bool.self)
        guard storedBefore != true else { return .duplicate }

        let oldText = try await documentText(fingerprint: fingerprint, on: connection, logger: logger)
        let write = try prepared?.ifStill(oldText) ?? SubmissionWrite(submission, replacing: oldText)
        guard write.changes.count <= history.maxRowsPerSubmission else { return .tooManyChanges(rows: write.changes.count) }
        let receivedAt = submission.receivedAt
        try await connection.query(
            """
            INSERT INTO submissions (fingerprint, submission_id, received_at)
            VALUES (\(fingerprint), \(submission.submissionID), \(receivedAt))
            """, logger: logger)
        try await insertChanges(write.changes, of: fingerprint, at: receivedAt, on: connection, logger: logger)
        try await connection.query(
            """
            INSERT INTO documents (fingerprint, document, updated_at, failed_plugins)
            VALUES (\(fingerprint), \(write.documentText), \(receivedAt), \(write.failedPlugins))
            ON CONFLICT (fingerprint) DO UPDATE SET document = EXCLUDED.document, updated_at = EXCLUDED.updated_at,
                failed_plugins = EXCLUDED.failed_plugins
            """, logger: logger)
        let port = submission.port
        try await connection.query(
            """
            UPDATE devices SET last_submission_at = \(receivedAt), client_release = COALESCE(\(submission.clientRelease.map(Int64.init)), client_release),
                last_port = COALESCE(\(port.map { Int64($0.number) }), last_port),
                last_port_deprecated = COALESCE(\(port?.deprecated), last_port_deprecated),
                history_unpruned = history_unpruned + \(Int64(write.changes.count))
            WHERE fingerprint = \(fingerprint)
            """, logger: logger)
        let unpruned = Int(device.unpruned) + write.changes.count
        if unpruned >= SQLiteStore.pruneStep(history.rowsPerDevice) {
            try await keepNewestChanges(history.rowsPerDevice, of: fingerprint, on: connection, logger: logger)
        }
        return .stored
    }

    /// All of a submission's history rows in one statement (a first document adds hundreds),
    /// handed over as one JSON array of {path, old, new} (a text array cannot hold nulls here).
    private static func insertChanges(
        _ changes: [SubmissionWrite.Row], of fingerprint: String, at: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard !changes.isEmpty else { return }
        let rows = JSONValue.array(
            changes.map { change in
                .object(["path": .string(change.path), "old": change.old.map(JSONValue.string) ?? .null, "new": change.new.map(JSONValue.string) ?? .null])
            })
        try await connection.query(
            """
            INSERT INTO changes (fingerprint, path, old, new, changed_at)
            SELECT \(fingerprint), c.path, c.old, c.new, \(at)
            FROM ROWS FROM (json_to_recordset(\(rows.serializedString)::json) AS (path text, old text, new text))
                WITH ORDINALITY AS c(path, old, new, n)
            ORDER BY c.n
            """, logger: logger)
    }

    /// Prunes a device's history to its newest `keeping` rows (see `SQLiteStore.pruneHistoryIfDue`).
    private static func keepNewestChanges(_ keeping: Int, of fingerprint: String, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        try await connection.query(
            """
            DELETE FROM changes WHERE fingerprint = \(fingerprint) AND id <= (
                SELECT id FROM changes WHERE fingerprint = \(fingerprint) ORDER BY id DESC LIMIT 1 OFFSET \(Int64(max(0, keeping))))
            """, logger: logger)
        try await connection.query("UPDATE devices SET history_unpruned = 0 WHERE fingerprint = \(fingerprint)", logger: logger)
    }

    static func documentText(fingerprint: String, on connection: PostgresConnection, logger: Logger) async throws -> String? {
        try await connection.query("SELECT document FROM documents WHERE fingerprint = \(fingerprint)", logger: logger)
            .single(String.self)
    }

    public func latestDocument(fingerprint: String) async throws -> JSONValue? {
        try await latestDocumentText(fingerprint: fingerprint).map { try JSONValue.parse(Data($0.utf8), limits: .storedData) }
    }

    public func latestDocumentText(fingerprint: String) async throws -> String? {
        try await pool.query("SELECT document FROM documents WHERE fingerprint = \(fingerprint)", logger: logger)
            .single(String.self)
    }

    public func history(fingerprint: String, limit: Int) async throws -> [ChangeRecord] {
        let rows = try await pool.query(
            """
            SELECT fingerprint, path, old, new, changed_at FROM changes WHERE fingerprint = \(fingerprint)
            ORDER BY id DESC LIMIT \(Int64(max(limit, 0)))
            """, logger: logger)
        var records: [ChangeRecord] = []
        for try await (fingerprint, path, old, new, at) in rows.decode((String, String, String?, String?, Date).self) {
            records.append(
                ChangeRecord(fingerprint: fingerprint, path: path, old: Self.json(old), new: Self.json(new), changedAt: at))
        }
        return records
    }

    private static func json(_ text: String?) -> JSONValue? {
        text.flatMap { try? JSONValue.parse(Data($0.utf8)) }
    }
}
