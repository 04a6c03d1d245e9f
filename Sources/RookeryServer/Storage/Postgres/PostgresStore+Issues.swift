import Foundation
import PostgresNIO
import RookeryCore

extension PostgresStore: IssueStore {
    /// The audit lock of every process and host on this database.
    static let auditLock: Int64 = 0x726F_6F6B_6175_6474  // "rookaudt"

    /// A session lock on a connection held for the audit: released when asked, or by PostgreSQL
    /// itself when the connection ends (the process died), so a crashed audit never blocks the next.
    public func holdAuditLock() async throws -> AuditLockHold {
        let (acquired, signalAcquired) = AsyncThrowingStream<Void, any Error>.makeStream()
        let (released, signalReleased) = AsyncStream<Void>.makeStream()
        let pool = pool
        let logger = logger
        let holder = Task {
            do {
                try await pool.withConnection { connection in
                    try await connection.query("SELECT pg_advisory_lock(\(Self.auditLock))", logger: logger)
                    signalAcquired.finish()
                    for await _ in released {}
                    _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.auditLock))", logger: logger)
                }
            } catch {
                signalAcquired.finish(throwing: error)
            }
        }
        let release: @Sendable () async -> Void = {
            signalReleased.finish()
            await holder.value
        }
        for try await _ in acquired {}
        // Cancelled while waiting: the stream ended without the lock; give up the attempt.
        if Task.isCancelled {
            holder.cancel()
            await release()
            throw CancellationError()
        }
        return AuditLockHold(release: release)
    }

    public func auditRecords(after cursor: AuditCursor?, limit: Int, paths: [DocumentPath]) async throws -> [AuditRecord] {
        let logger = logger
        return try await pool.withConnection { connection in
            var records: [AuditRecord] = []
            let rows = try await connection.query(Self.auditQuery(paths: paths, after: cursor, limit: limit), logger: logger)
            for try await row in rows.decode(AuditRow.self) { records.append(Self.auditRecord(row)) }
            let issues = try await Self.liveIssues(of: records.map(\.device.fingerprint), on: connection, logger: logger)
            for index in records.indices { records[index].issues = issues[records[index].device.fingerprint] ?? [] }
            return records
        }
    }

    private typealias AuditRow = (
        String, String, String, String, Date, Date?, Date?, Int64?, Date?, Int64?, String?, String?, Date?, String?,
        String?, Date?, String?
    )

    /// One row per accepted device with the projected document values (a JSON array, one element
    /// per path) and the computed checks' facts, as `SQLiteStore.auditSQL`. The page of devices
    /// is chosen first (`devices_audit_order` walks them in order), and only its documents are parsed:
    /// with the parse beside the sort, every page parsed every accepted device's document again.
    /// Paths are letters, digits, _ and - (`DocumentPath`), so they are written into the
    /// statement, quoted, as they are. Each document is parsed once (jsonb). jsonb refuses the
    /// escape \u0000, which a device may send, so it is read as U+FFFD: one hostile document
    /// cannot stop the audit.
    private static func auditQuery(paths: [DocumentPath], after cursor: AuditCursor?, limit: Int) -> PostgresQuery {
        let projected = paths.map { path in
            "parsed.document #> '{" + path.components.map { "\"\($0)\"" }.joined(separator: ",") + "}'"
        }.joined(separator: ", ")
        var page = "SELECT * FROM devices WHERE state = 'accepted'"
        var binds = PostgresBindings()
        if let cursor {
            page += " AND (hostname COLLATE \"C\", fingerprint) > ($1, $2)"
            binds.append(cursor.hostname)
            binds.append(cursor.fingerprint)
        }
        page += " ORDER BY hostname COLLATE \"C\", fingerprint LIMIT \(max(limit, 0))"
        let sql = """
            SELECT d.fingerprint, d.hostname, d.machine_id, d.state, d.enrolled_at, d.accepted_at,
                d.last_submission_at, d.client_release, d.suspended_at,
                CASE WHEN d.last_port_deprecated THEN d.last_port END,
                CASE WHEN doc.document IS NOT NULL THEN jsonb_build_array(\(projected))::text END,
                doc.failed_plugins,
                (SELECT min(created_at) FROM patches p WHERE p.fingerprint = d.fingerprint AND p.state = 'pending'),
                \(clashSQL(on: "hostname")),
                \(clashSQL(on: "machine_id")),
                (SELECT max(o.last_submission_at) FROM device_links l JOIN devices o ON o.fingerprint = l.linked
                 WHERE l.fingerprint = d.fingerprint),
                (SELECT value FROM client_parameters c WHERE c.fingerprint = d.fingerprint AND c.name = 'user_email')
            FROM (\(page)) d LEFT JOIN documents doc ON doc.fingerprint = d.fingerprint
            LEFT JOIN LATERAL (SELECT replace(doc.document, '\\u0000', '\\ufffd')::jsonb AS document OFFSET 0) parsed ON true
            ORDER BY d.hostname COLLATE "C", d.fingerprint
            """
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }

    /// As `SQLiteStore.clashSQL`: up to `KeyClashes.shown + 1` other live keys sharing `column`.
    private static func clashSQL(on column: String) -> String {
        """
        (SELECT string_agg(o.fingerprint || ' ' || o.hostname, ',' ORDER BY o.fingerprint) FROM (
            SELECT fingerprint, hostname FROM devices o WHERE o.\(column) = d.\(column) AND o.fingerprint <> d.fingerprint
                AND o.state IN ('accepted', 'pending') ORDER BY o.fingerprint LIMIT \(KeyClashes.shown + 1)) o)
        """
    }

    private static func auditRecord(_ row: AuditRow) -> AuditRecord {
        let device = Device(
            fingerprint: row.0, publicKey: "", hostname: row.1, machineID: row.2,
            state: DeviceState(rawValue: row.3) ?? .pending, enrolledAt: row.4, acceptedAt: row.5,
            lastSubmissionAt: row.6, clientRelease: row.7.map { Int($0) }, suspendedAt: row.8)
        return AuditRecord(
            device: device, projectedValues: row.10, failedPlugins: row.11,
            facts: DeviceFacts(
                oldestPendingPatchAt: row.12,
                clashes: KeyClashes(hostname: KeyClashes.keys(listed: row.13), machineID: KeyClashes.keys(listed: row.14)),
                linkedLastReportAt: row.15, userEmail: row.16, deprecatedPort: row.9.map { Int($0) }))
    }

    private static func liveIssues(of fingerprints: [String], on connection: PostgresConnection, logger: Logger) async throws
        -> [String: [IssueRecord]]
    {
        guard !fingerprints.isEmpty else { return [:] }
        let issues = try await Self.issues(
            try await connection.query(
                """
                SELECT \(unescaped: issueColumns) FROM issues
                WHERE fingerprint = ANY(\(fingerprints)) AND (closed_at IS NULL OR held) ORDER BY id
                """, logger: logger))
        return Dictionary(grouping: issues, by: \.fingerprint)
    }

    public func apply(_ changes: [IssueChange]) async throws {
        guard !changes.isEmpty else { return }
        let logger = logger
        try await transaction { connection in
            for change in changes { try await connection.query(Self.statement(for: change), logger: logger) }
        }
    }

    private static func statement(for change: IssueChange) -> PostgresQuery {
        switch change {
        case .open(let issue):
            """
            INSERT INTO issues (fingerprint, name, opened_at, opened_by, alerted_at, snoozed_until, held, held_data_at, detail)
            VALUES (\(issue.fingerprint), \(issue.name), \(issue.openedAt), \(issue.openedBy.rawValue), \(issue.alertedAt),
                    \(issue.snoozedUntil), \(issue.held), \(issue.heldDataAt), \(issue.detail))
            ON CONFLICT (fingerprint, name) WHERE closed_at IS NULL DO NOTHING
            """
        case .close(let id, let at, let reason):
            // A manual close holds against the audit until the device sends newer data.
            """
            UPDATE issues SET closed_at = \(at), close_reason = \(reason.rawValue), held = \(reason == .manual),
                held_data_at = (SELECT last_submission_at FROM devices WHERE devices.fingerprint = issues.fingerprint)
            WHERE id = \(id) AND closed_at IS NULL
            """
        case .markAlerted(let id, let at):
            "UPDATE issues SET alerted_at = \(at) WHERE id = \(id)"
        case .updateDetail(let id, let detail):
            "UPDATE issues SET detail = \(detail) WHERE id = \(id)"
        case .releaseHold(let id):
            "UPDATE issues SET held = false WHERE id = \(id)"
        }
    }

    public func openIssues(fingerprint: String?) async throws -> [IssueRecord] {
        let query: PostgresQuery =
            if let fingerprint {
                """
                SELECT \(unescaped: Self.issueColumns) FROM issues WHERE closed_at IS NULL AND fingerprint = \(fingerprint)
                ORDER BY opened_at, id
                """
            } else {
                "SELECT \(unescaped: Self.issueColumns) FROM issues WHERE closed_at IS NULL ORDER BY opened_at, id"
            }
        return try await Self.issues(try await pool.query(query, logger: logger))
    }

    public func issueHistory(fingerprint: String, limit: Int) async throws -> [IssueRecord] {
        try await Self.issues(
            try await pool.query(
                """
                SELECT \(unescaped: Self.issueColumns) FROM issues WHERE fingerprint = \(fingerprint)
                ORDER BY id DESC LIMIT \(Int64(max(limit, 0)))
                """, logger: logger))
    }

    public func snooze(until: Date, fingerprint: String?, name: String?) async throws -> Int {
        try await count(
            """
            UPDATE issues SET snoozed_until = \(until)
            WHERE closed_at IS NULL AND (\(fingerprint)::text IS NULL OR fingerprint = \(fingerprint))
              AND (\(name)::text IS NULL OR name = \(name))
            RETURNING id
            """)
    }

    public func unsnooze(fingerprint: String?, name: String?, now: Date) async throws -> Int {
        try await count(
            """
            UPDATE issues SET snoozed_until = NULL
            WHERE closed_at IS NULL AND snoozed_until > \(now) AND (\(fingerprint)::text IS NULL OR fingerprint = \(fingerprint))
              AND (\(name)::text IS NULL OR name = \(name))
            RETURNING id
            """)
    }

    /// How many rows the statement returned (an UPDATE ... RETURNING: how many it changed).
    func count(_ query: PostgresQuery) async throws -> Int {
        var count = 0
        for try await _ in try await pool.query(query, logger: logger) { count += 1 }
        return count
    }

    public func suspend(fingerprint: String, at: Date?) async throws {
        try await pool.query("UPDATE devices SET suspended_at = \(at) WHERE fingerprint = \(fingerprint)", logger: logger)
    }

    static let issueColumns = """
        id, fingerprint, name, opened_at, opened_by, closed_at, close_reason, alerted_at, snoozed_until, held, held_data_at, detail
        """

    private typealias IssueRow = (Int64, String, String, Date, String, Date?, String?, Date?, Date?, Bool, Date?, String)

    static func issues(_ rows: PostgresRowSequence) async throws -> [IssueRecord] {
        var issues: [IssueRecord] = []
        for try await row in rows.decode(IssueRow.self) {
            var issue = IssueRecord(
                fingerprint: row.1, name: row.2, openedAt: row.3, openedBy: IssueRecord.Opener(rawValue: row.4) ?? .audit,
                detail: row.11)
            issue.id = row.0
            issue.closedAt = row.5
            issue.closeReason = row.6.flatMap(IssueRecord.CloseReason.init(rawValue:))
            issue.alertedAt = row.7
            issue.snoozedUntil = row.8
            issue.held = row.9
            issue.heldDataAt = row.10
            issues.append(issue)
        }
        return issues
    }

    // MARK: - Client parameters and links

    public func parameters(fingerprint: String) async throws -> [String: String] {
        var parameters: [String: String] = [:]
        let rows = try await pool.query(
            "SELECT name, value FROM client_parameters WHERE fingerprint = \(fingerprint)", logger: logger)
        for try await (name, value) in rows.decode((String, String).self) { parameters[name] = value }
        return parameters
    }

    public func setParameter(_ name: String, value: String?, fingerprint: String) async throws {
        let query: PostgresQuery =
            if let value {
                """
                INSERT INTO client_parameters (fingerprint, name, value) VALUES (\(fingerprint), \(name), \(value))
                ON CONFLICT (fingerprint, name) DO UPDATE SET value = EXCLUDED.value
                """
            } else {
                "DELETE FROM client_parameters WHERE fingerprint = \(fingerprint) AND name = \(name)"
            }
        try await pool.query(query, logger: logger)
    }

    public func links(fingerprint: String) async throws -> [String] {
        var links: [String] = []
        let rows = try await pool.query(
            "SELECT linked FROM device_links WHERE fingerprint = \(fingerprint) ORDER BY linked", logger: logger)
        for try await linked in rows.decode(String.self) { links.append(linked) }
        return links
    }

    public func link(_ fingerprints: [String]) async throws {
        try await pool.query(
            """
            INSERT INTO device_links (fingerprint, linked)
            SELECT a, b FROM unnest(\(fingerprints)::text[]) AS a, unnest(\(fingerprints)::text[]) AS b WHERE a <> b
            ON CONFLICT DO NOTHING
            """, logger: logger)
    }

    public func unlink(_ fingerprint: String, from others: [String]) async throws {
        try await pool.query(
            """
            DELETE FROM device_links WHERE (fingerprint = \(fingerprint) AND linked = ANY(\(others)))
                OR (linked = \(fingerprint) AND fingerprint = ANY(\(others)))
            """, logger: logger)
    }
}
