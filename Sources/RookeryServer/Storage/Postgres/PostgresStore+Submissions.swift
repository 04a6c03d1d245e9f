import Foundation
import PostgresNIO
import RookeryCore

extension PostgresStore {
    public func commit(_ items: [CommitItem], pruneNoncesBefore: Date) async throws -> [Result<CommitOutcome, any Error>] {
        let logger = logger
        return try await transaction { connection in
            try await Self.pruneNonces(before: pruneNoncesBefore, on: connection, logger: logger)
            try await Self.lockDevices(of: items, on: connection, logger: logger)
            var results: [Result<CommitOutcome, any Error>] = []
            for item in items {
                results.append(try await Self.commit(item, on: connection, logger: logger))
            }
            return results
        }
    }

    /// Locks the devices whose submissions the batch stores, all at once and in fingerprint
    /// order, before any item: two processes' batches that share two devices would otherwise
    /// lock them in their items' orders and could deadlock (PostgreSQL would then abort one
    /// item's statement). Held until the batch commits.
    private static func lockDevices(of items: [CommitItem], on connection: PostgresConnection, logger: Logger) async throws {
        let fingerprints = Set(items.compactMap { $0.submission?.fingerprint }).sorted()
        guard !fingerprints.isEmpty else { return }
        try await connection.query(
            """
            SELECT 1 FROM devices WHERE fingerprint = ANY(\(fingerprints)) ORDER BY fingerprint COLLATE "C" FOR NO KEY UPDATE
            """, logger: logger)
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

    /// Stores a submission, or refuses it before writing anything (as `SQLiteStore.store`), in
    /// three statements: a lock, a read of what the checks need, one write (every statement is a
    /// round trip, and the group commit's writer makes them one after another). The device's row
    /// is locked first, so two processes storing submissions of one device take turns: each
    /// works its changes out against the document the other left.
    static func store(
        _ submission: Submission, history: HistoryPolicy, prepared: SubmissionWrite?,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> SubmissionOutcome {
        guard let before = try await readBeforeStoring(submission, on: connection, logger: logger),
            before.state == DeviceState.accepted.rawValue
        else {
            let state = try await connection.query(
                "SELECT state FROM devices WHERE fingerprint = \(submission.fingerprint)", logger: logger
            ).single(String.self)
            return .deviceNotAccepted(state.flatMap(DeviceState.init(rawValue:)))
        }
        guard before.selectors == submission.secretSelectors else { return .secretSelectorsChanged(before.selectors) }
        guard !before.storedBefore else { return .duplicate }
        let write = try prepared?.ifStill(before.document) ?? SubmissionWrite(submission, replacing: before.document)
        guard write.changes.count <= history.maxRowsPerSubmission else { return .tooManyChanges(rows: write.changes.count) }
        try await connection.query(writeQuery(submission, write), logger: logger)
        if Int(before.unpruned) + write.changes.count >= history.pruneStep {
            try await keepNewestChanges(history.rowsPerDevice, of: submission.fingerprint, on: connection, logger: logger)
        }
        return .stored
    }

    /// What storing a submission checks.
    private struct BeforeStoring {
        let state: String
        let unpruned: Int64
        let selectors: [SecretSelector]
        let storedBefore: Bool
        let document: String?
    }

    /// Locks the device's row first (`FOR NO KEY UPDATE`: the references to it need no wait)
    /// and takes the secret selectors' lock shared (changing them waits for this transaction, and
    /// this one for a change); then, in a second statement, whose snapshot is taken after the
    /// locks were granted, reads the selectors, whether the id was stored and the document: what
    /// a transaction that held the lock wrote (a rewrite that sealed a value) is seen. Nil when
    /// no device has the key.
    private static func readBeforeStoring(_ submission: Submission, on connection: PostgresConnection, logger: Logger)
        async throws -> BeforeStoring?
    {
        let fingerprint = submission.fingerprint
        var device: (String, Int64)?
        for try await row in try await connection.query(
            """
            SELECT d.state, d.history_unpruned
            FROM devices d, LATERAL (SELECT pg_advisory_xact_lock_shared(\(secretSelectorsLock))) selectors_lock
            WHERE d.fingerprint = \(fingerprint) FOR NO KEY UPDATE OF d
            """, logger: logger
        ).decode((String, Int64).self) {
            device = row
        }
        guard let (state, unpruned) = device else { return nil }
        var before: BeforeStoring?
        for try await row in try await connection.query(
            """
            SELECT (SELECT coalesce(array_agg(selector ORDER BY selector COLLATE "C"), '{}') FROM secret_selectors),
                EXISTS (SELECT 1 FROM submissions WHERE fingerprint = \(fingerprint) AND submission_id = \(submission.submissionID)),
                (SELECT document FROM documents WHERE fingerprint = \(fingerprint))
            """, logger: logger
        ).decode(([String], Bool, String?).self) {
            before = BeforeStoring(
                state: state, unpruned: unpruned, selectors: row.0.compactMap { try? SecretSelector($0) }, storedBefore: row.1,
                document: row.2)
        }
        return before
    }

    /// The submission id, the history rows (one JSON array of {path, old, new}: a text array
    /// cannot hold nulls here), the document and the device's last report, in one statement.
    private static func writeQuery(_ submission: Submission, _ write: SubmissionWrite) -> PostgresQuery {
        let fingerprint = submission.fingerprint
        let receivedAt = submission.receivedAt
        let port = submission.port
        let changes = JSONValue.array(
            write.changes.map { change in
                .object([
                    "path": .string(PostgresStore.storable(change.path)), "old": change.old.map(JSONValue.string) ?? .null,
                    "new": change.new.map(JSONValue.string) ?? .null
                ])
            })
        return """
            WITH submission AS (
                INSERT INTO submissions (fingerprint, submission_id, received_at)
                VALUES (\(fingerprint), \(submission.submissionID), \(receivedAt))
            ), history AS (
                INSERT INTO changes (fingerprint, path, old, new, changed_at)
                SELECT \(fingerprint), c.path, c.old, c.new, \(receivedAt)
                FROM ROWS FROM (json_to_recordset(\(changes.serializedString)::json) AS (path text, old text, new text))
                    WITH ORDINALITY AS c(path, old, new, n)
                ORDER BY c.n
            ), document AS (
                INSERT INTO documents (fingerprint, document, updated_at, failed_plugins)
                VALUES (\(fingerprint), \(write.documentText), \(receivedAt), \(write.failedPlugins))
                ON CONFLICT (fingerprint) DO UPDATE SET document = EXCLUDED.document, updated_at = EXCLUDED.updated_at,
                    failed_plugins = EXCLUDED.failed_plugins
            )
            UPDATE devices SET last_submission_at = \(receivedAt),
                client_release = COALESCE(\(submission.clientRelease.map(Int64.init)), client_release),
                last_port = COALESCE(\(port.map { Int64($0.number) }), last_port),
                last_port_deprecated = COALESCE(\(port?.deprecated), last_port_deprecated),
                history_unpruned = history_unpruned + \(Int64(write.changes.count))
            WHERE fingerprint = \(fingerprint)
            """
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

    public func latestDocumentText(fingerprint: String) async throws -> String? {
        try await pool.withConnection { connection in
            try await Self.documentText(fingerprint: fingerprint, on: connection, logger: logger)
        }
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
