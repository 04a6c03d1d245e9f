import Foundation
import GRDB
import RookeryCore

/// The default store: one SQLite file in WAL mode, shared safely by the server and admin commands.
public final class SQLiteStore: Store {
    let pool: DatabasePool
    public let migrationsAppliedOnOpening: [String]

    public init(path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var config = Configuration()
        // Admin commands and the server write the same file; wait for each other instead of failing.
        config.busyMode = .timeout(10)
        // Bytes freed by any write are zeroed, so a value that was replaced (a secret that arrived
        // in clear, a pruned history row) does not linger in free pages. Debian builds SQLite
        // with this on; other builds may not.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA secure_delete = ON") }
        pool = try DatabasePool(path: path, configuration: config)
        let migrator = SQLiteMigrations.migrator
        let before = try pool.read { db in try migrator.appliedIdentifiers(db) }
        try migrator.migrate(pool)
        migrationsAppliedOnOpening = migrator.migrations.filter { !before.contains($0) }
    }

    public func schemaState() async throws -> SchemaState {
        let migrator = SQLiteMigrations.migrator
        return try await pool.read { db in
            let applied = try migrator.appliedIdentifiers(db)
            let unknown = applied.subtracting(migrator.migrations)
            if !unknown.isEmpty { return .ahead(unknown: unknown.sorted()) }
            let missing = migrator.migrations.filter { !applied.contains($0) }
            return missing.isEmpty ? .current : .behind(missing: missing)
        }
    }

    public func device(fingerprint: String) async throws -> Device? {
        try await pool.read { db in try Self.device(fingerprint: fingerprint, in: db) }
    }

    private static func device(fingerprint: String, in db: Database) throws -> Device? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM devices WHERE fingerprint = ?"), arguments: [fingerprint])
            .map(device(from:))
    }

    public func devices(named nameOrFingerprint: String) async throws -> [Device] {
        let upper = nameOrFingerprint.uppercased()
        return try await pool.read { db in
            var sql = "SELECT * FROM devices WHERE hostname = ? OR fingerprint = ?"
            var arguments: StatementArguments = [nameOrFingerprint, upper]
            if upper.count >= 8, upper.allSatisfy(InputValidation.isASCIIHex) {
                sql += " OR fingerprint LIKE ?"
                arguments += [upper + "%"]
            }
            return try Row.fetchAll(db, sql: sql + " ORDER BY hostname, fingerprint", arguments: arguments)
                .map(Self.device(from:))
        }
    }

    public func devices(in state: DeviceState?) async throws -> [Device] {
        try await pool.read { db in
            let rows =
                if let state {
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM devices WHERE state = ? ORDER BY hostname, fingerprint",
                        arguments: [state.rawValue])
                } else {
                    try Row.fetchAll(db, sql: "SELECT * FROM devices ORDER BY hostname, fingerprint")
                }
            return rows.map(Self.device(from:))
        }
    }

    public func deviceCount(in state: DeviceState) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM devices WHERE state = ?", arguments: [state.rawValue]) ?? 0
        }
    }

    public func enroll(_ candidate: Device, acceptUnlessFlagged: Bool) async throws -> Device {
        try await pool.write { db in
            if let existing = try Self.device(fingerprint: candidate.fingerprint, in: db) { return existing }
            // lower(rtrim(...)) is Device.clashName, and indexed (devices_hostname_folded).
            let others = try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM devices WHERE (lower(rtrim(hostname, '.')) = ? OR machine_id = ?) AND fingerprint != ?
                    ORDER BY hostname
                    """, arguments: [Device.clashName(of: candidate.hostname), candidate.machineID, candidate.fingerprint]
            )
            .map(Self.device(from:))
            let forgottenAt = try Date.fetchOne(
                db, sql: "SELECT forgotten_at FROM forgotten_keys WHERE fingerprint = ?", arguments: [candidate.fingerprint])
            let device = candidate.enrolling(besides: others, forgottenAt: forgottenAt, acceptUnlessFlagged: acceptUnlessFlagged)
            try Self.insert(device, into: db)
            return device
        }
    }

    private static func insert(_ device: Device, into db: Database) throws {
        let flags = try flagsText(device.flags)
        try db.execute(
            sql: """
                INSERT INTO devices (fingerprint, public_key, hostname, machine_id, state, enrolled_at,
                                     accepted_at, last_submission_at, flags)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                device.fingerprint, device.publicKey, device.hostname, device.machineID,
                device.state.rawValue, device.enrolledAt, device.acceptedAt,
                device.lastSubmissionAt, flags
            ])
    }

    private static func flagsText(_ flags: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(flags), as: UTF8.self)
    }

    public func rename(fingerprint: String, to hostname: String, at: Date) async throws -> RenameOutcome {
        try await pool.write { db in
            guard let device = try Self.device(fingerprint: fingerprint, in: db) else { return .notAccepted(nil) }
            // The key is trusted to name itself only once an administrator (or a token) accepted it.
            guard device.state == .accepted else { return .notAccepted(device.state) }
            var updated = device
            updated.flags.removeAll(where: Device.isRenameHeldFlag)
            if hostname == device.hostname {
                try db.execute(
                    sql: "UPDATE devices SET flags = ? WHERE fingerprint = ?",
                    arguments: [try Self.flagsText(updated.flags), fingerprint])
                return .unchanged(updated)
            }
            var wanted = device
            wanted.hostname = hostname
            let holders = try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM devices WHERE lower(rtrim(hostname, '.')) = ? AND fingerprint != ? ORDER BY hostname
                    """, arguments: [Device.clashName(of: hostname), fingerprint]
            ).map(Self.device(from:))
            let clashes = wanted.clashFlags(with: holders)
            if !clashes.isEmpty {
                updated.flags.append(Device.renameHeldFlag(to: hostname, clashes: clashes))
                try db.execute(
                    sql: "UPDATE devices SET flags = ? WHERE fingerprint = ?",
                    arguments: [try Self.flagsText(updated.flags), fingerprint])
                return .held(updated)
            }
            updated.hostname = hostname
            try db.execute(
                sql: "UPDATE devices SET hostname = ?, flags = ? WHERE fingerprint = ?",
                arguments: [hostname, try Self.flagsText(updated.flags), fingerprint])
            let rename = DeviceRename(fingerprint: fingerprint, oldHostname: device.hostname, newHostname: hostname, renamedAt: at)
            try db.execute(
                sql: """
                    INSERT INTO device_renames (fingerprint, old_hostname, new_hostname, renamed_at) VALUES (?, ?, ?, ?)
                    """, arguments: [fingerprint, rename.oldHostname, rename.newHostname, at])
            // An accepted device could rename itself back and forth forever: keep the newest.
            try Self.keepNewest(DeviceRename.kept, of: "device_renames", for: fingerprint, in: db)
            return .renamed(updated, rename)
        }
    }

    public func renames(fingerprint: String) async throws -> [DeviceRename] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM device_renames WHERE fingerprint = ? ORDER BY id DESC",
                arguments: [fingerprint]
            ).map { row in
                DeviceRename(
                    fingerprint: row["fingerprint"], oldHostname: row["old_hostname"],
                    newHostname: row["new_hostname"], renamedAt: row["renamed_at"])
            }
        }
    }

    public func setState(_ state: DeviceState, fingerprint: String, at: Date) async throws {
        try await pool.write { db in
            if state == .accepted {
                try db.execute(
                    sql: "UPDATE devices SET state = ?, accepted_at = ? WHERE fingerprint = ?",
                    arguments: [state.rawValue, at, fingerprint])
            } else {
                try db.execute(
                    sql: "UPDATE devices SET state = ? WHERE fingerprint = ?",
                    arguments: [state.rawValue, fingerprint])
                // A shell runs on the device's word that it is this device: not past its revocation.
                try db.execute(
                    sql: """
                        UPDATE shell_sessions SET state = 'closed', closed_at = ?, close_reason = ?
                        WHERE fingerprint = ? AND state IN ('requested', 'open')
                        """, arguments: [at, "the device was \(state.rawValue)", fingerprint])
            }
        }
    }

    public func forget(fingerprint: String, at: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO forgotten_keys (fingerprint, hostname, forgotten_at)
                    SELECT fingerprint, hostname, ? FROM devices WHERE fingerprint = ? AND state = 'revoked'
                    """, arguments: [at, fingerprint])
            // Documents, history and submission ids go with the device (ON DELETE CASCADE).
            try db.execute(sql: "DELETE FROM devices WHERE fingerprint = ?", arguments: [fingerprint])
        }
    }

    public func lookUpSigner(fingerprint: String, nonce: String) async throws -> SignerLookup {
        try await pool.read { db in
            SignerLookup(
                device: try Self.device(fingerprint: fingerprint, in: db),
                nonceSeen: try Bool.fetchOne(
                    db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM nonces WHERE nonce = ?)"),
                    arguments: [nonce]) ?? false)
        }
    }

    static func documentText(fingerprint: String, in db: Database) throws -> String? {
        try String.fetchOne(
            db.cachedStatement(sql: "SELECT document FROM documents WHERE fingerprint = ?"),
            arguments: [fingerprint])
    }

    public func recordNonce(_ nonce: String, seenAt: Date, pruneBefore: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM nonces WHERE seen_at < ?", arguments: [pruneBefore])
            try db.execute(
                sql: "INSERT OR IGNORE INTO nonces (nonce, seen_at) VALUES (?, ?)",
                arguments: [nonce, seenAt])
            return db.changesCount == 1
        }
    }

    public func store(_ submission: Submission, history: HistoryPolicy) async throws -> SubmissionOutcome {
        try await pool.write { db in try Self.store(submission, history: history, prepared: nil, in: db) }
    }

    /// Stores a submission, or refuses it before writing anything: a refusal leaves no trace,
    /// not even the submission id, so the device may retry. (So no savepoint is needed for a
    /// refusal; the caller's transaction or savepoint undoes what an error stopped halfway.)
    /// `prepared` is used when it was worked out against the document stored now.
    static func store(
        _ submission: Submission, history: HistoryPolicy, prepared: SubmissionWrite?,
        in db: Database
    ) throws -> SubmissionOutcome {
        let device = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT state, history_unpruned FROM devices WHERE fingerprint = ?"),
            arguments: [submission.fingerprint])
        let state: String? = device?["state"]
        guard state == DeviceState.accepted.rawValue, let device else {
            return .deviceNotAccepted(state.flatMap(DeviceState.init(rawValue:)))
        }
        // Read in this transaction, so `select` cannot come between the check and the store.
        let selectors = try secretSelectors(in: db)
        guard selectors == submission.secretSelectors else { return .secretSelectorsChanged(selectors) }
        let storedBefore =
            try Bool.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT EXISTS (SELECT 1 FROM submissions WHERE fingerprint = ? AND submission_id = ?)
                        """), arguments: [submission.fingerprint, submission.submissionID]) ?? false
        guard !storedBefore else { return .duplicate }

        let oldText = try documentText(fingerprint: submission.fingerprint, in: db)
        let write = try prepared?.ifStill(oldText) ?? SubmissionWrite(submission, replacing: oldText)
        guard write.changes.count <= history.maxRowsPerSubmission else { return .tooManyChanges(rows: write.changes.count) }
        // Converted once: GRDB formats a date through Foundation's DateFormatter each time.
        let receivedAt = submission.receivedAt.databaseValue
        try db.cachedStatement(
            sql: """
                INSERT INTO submissions (fingerprint, submission_id, received_at) VALUES (?, ?, ?)
                """
        ).execute(arguments: [submission.fingerprint, submission.submissionID, receivedAt])
        for change in write.changes {
            try db.cachedStatement(
                sql: """
                    INSERT INTO changes (fingerprint, path, old, new, changed_at) VALUES (?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [submission.fingerprint, change.path, change.old, change.new, receivedAt])
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO documents (fingerprint, document, updated_at, failed_plugins) VALUES (?, ?, ?, ?)
                ON CONFLICT(fingerprint) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at,
                    failed_plugins = excluded.failed_plugins
                """
        ).execute(arguments: [submission.fingerprint, write.documentText, receivedAt, write.failedPlugins])
        try db.cachedStatement(
            sql: """
                UPDATE devices SET last_submission_at = ?, client_release = COALESCE(?, client_release),
                    last_port = COALESCE(?, last_port), last_port_deprecated = COALESCE(?, last_port_deprecated),
                    history_unpruned = history_unpruned + ?
                WHERE fingerprint = ?
                """
        ).execute(arguments: [
            receivedAt, submission.clientRelease, submission.port?.number,
            submission.port?.deprecated, write.changes.count, submission.fingerprint
        ])
        let unpruned: Int = device["history_unpruned"]
        try pruneHistoryIfDue(of: submission.fingerprint, unpruned: unpruned + write.changes.count, history: history, in: db)
        return .stored
    }

    /// Prunes a device's history to its newest rows once `history.pruneStep` rows were added
    /// since the last prune (the walk over 50,000 rows by default: milliseconds, in the one writer).
    private static func pruneHistoryIfDue(of fingerprint: String, unpruned: Int, history: HistoryPolicy, in db: Database) throws {
        guard unpruned >= history.pruneStep else { return }
        try keepNewest(history.rowsPerDevice, of: "changes", for: fingerprint, in: db)
        try db.cachedStatement(sql: "UPDATE devices SET history_unpruned = 0 WHERE fingerprint = ?").execute(arguments: [fingerprint])
    }

    /// Drops a device's rows of `table` (history, renames; always a name written here) older
    /// than its newest `keeping`.
    private static func keepNewest(_ keeping: Int, of table: String, for fingerprint: String, in db: Database) throws {
        try db.cachedStatement(
            sql: """
                DELETE FROM \(table) WHERE fingerprint = ? AND id <= (
                    SELECT id FROM \(table) WHERE fingerprint = ? ORDER BY id DESC LIMIT 1 OFFSET ?)
                """
        ).execute(arguments: [fingerprint, fingerprint, max(0, keeping)])
    }

    public func latestDocumentText(fingerprint: String) async throws -> String? {
        try await pool.read { db in try Self.documentText(fingerprint: fingerprint, in: db) }
    }

    public func history(fingerprint: String, limit: Int) async throws -> [ChangeRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM changes WHERE fingerprint = ? ORDER BY id DESC LIMIT ?
                    """, arguments: [fingerprint, limit]
            ).map { row in
                ChangeRecord(
                    fingerprint: row["fingerprint"], path: row["path"],
                    old: Self.json(row["old"]), new: Self.json(row["new"]), changedAt: row["changed_at"])
            }
        }
    }

    private static func json(_ text: String?) -> JSONValue? {
        text.flatMap { try? JSONValue.parse(Data($0.utf8)) }
    }

    static func device(from row: Row) -> Device {
        let flagsText: String = row["flags"]
        let flags = (try? JSONDecoder().decode([String].self, from: Data(flagsText.utf8))) ?? []
        return Device(
            fingerprint: row["fingerprint"], publicKey: row["public_key"], hostname: row["hostname"],
            machineID: row["machine_id"], state: DeviceState(rawValue: row["state"]) ?? .pending,
            enrolledAt: row["enrolled_at"], acceptedAt: row["accepted_at"],
            lastSubmissionAt: row["last_submission_at"], flags: flags,
            clientRelease: row["client_release"], suspendedAt: row["suspended_at"])
    }

    // MARK: - Releases and patches

    public func recordUpdateRequest(fingerprint: String, release: Int) async throws -> [Patch]? {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE devices SET client_release = ? WHERE fingerprint = ? AND state = 'accepted'",
                arguments: [release, fingerprint])
            guard db.changesCount == 1 else { return nil }
            return try Row.fetchAll(
                db, sql: "SELECT * FROM patches WHERE fingerprint = ? AND state = 'pending' ORDER BY id",
                arguments: [fingerprint]
            ).map(Self.patch(from:))
        }
    }

    public func queuePatch(_ patch: Patch) async throws -> Patch {
        do {
            return try await pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO patches (fingerprint, target, action, mode, content, state, created_at, message)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        patch.fingerprint, patch.target, patch.action.rawValue, patch.mode,
                        patch.content, patch.state.rawValue, patch.createdAt, patch.message
                    ])
                var queued = patch
                queued.id = db.lastInsertedRowID
                try Self.recordAgentWakeup(fingerprint: patch.fingerprint, at: Date(), in: db)
                return queued
            }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw StoreError.pendingPatchExists(target: patch.target)
        }
    }

    public func patches(fingerprint: String, includeFinished: Bool) async throws -> [Patch] {
        try await pool.read { db in
            let sql =
                "SELECT * FROM patches WHERE fingerprint = ?"
                + (includeFinished ? "" : " AND state = 'pending'") + " ORDER BY id"
            return try Row.fetchAll(db, sql: sql, arguments: [fingerprint]).map(Self.patch(from:))
        }
    }

    public func finishedPatchCount(fingerprint: String) async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT count(*) FROM patches WHERE fingerprint = ? AND state != 'pending'",
                arguments: [fingerprint]) ?? 0
        }
    }

    public func finishPatch(
        id: Int64, fingerprint: String, target: String, state: PatchState,
        message: String, at: Date, byAcceptedDevice: Bool
    ) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE patches SET state = ?, message = ?, finished_at = ?
                    WHERE id = ? AND fingerprint = ? AND target = ? AND state = 'pending'
                      AND (? = 0 OR EXISTS (SELECT 1 FROM devices WHERE fingerprint = ? AND state = 'accepted'))
                    """, arguments: [state.rawValue, message, at, id, fingerprint, target, byAcceptedDevice, fingerprint])
            return db.changesCount == 1
        }
    }

    private static func patch(from row: Row) -> Patch {
        Patch(
            id: row["id"], fingerprint: row["fingerprint"], target: row["target"],
            action: PatchAction(rawValue: row["action"]) ?? .write, mode: row["mode"],
            content: row["content"], state: PatchState(rawValue: row["state"]) ?? .pending,
            createdAt: row["created_at"], finishedAt: row["finished_at"], message: row["message"])
    }
}
