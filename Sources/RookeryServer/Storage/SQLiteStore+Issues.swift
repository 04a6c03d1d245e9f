import Foundation
import GRDB
import RookeryCore

extension SQLiteStore {
    /// One SQLite file serves one host, whose audits hold a file lock already (`IssuesAudit`).
    public func holdAuditLock() async throws -> AuditLockHold { .none }

    public func auditRecords(after cursor: AuditCursor?, limit: Int, paths: [DocumentPath]) async throws -> [AuditRecord] {
        try await pool.read { db in
            let arguments: StatementArguments = cursor.map { [$0.hostname, $0.fingerprint, limit] } ?? [limit]
            // A cursor, not fetchAll: each row is read once, straight into a record.
            var records = try Array(
                Row.fetchCursor(
                    db, sql: Self.auditSQL(paths: paths, after: cursor != nil),
                    arguments: arguments
                ).map(Self.auditRecord))
            let issues = try Self.liveIssues(db, fingerprints: records.map(\.device.fingerprint))
            for index in records.indices { records[index].issues = issues[records[index].device.fingerprint] ?? [] }
            return records
        }
    }

    /// One row per accepted device with the projected document values and the computed checks'
    /// facts. json_extract with two or more paths returns a JSON array, so a path that never
    /// exists goes first and every value comes back as JSON, whatever its type.
    private static func auditSQL(paths: [DocumentPath], after: Bool) -> String {
        let jsonPaths = (["$.\"~\""] + paths.map(jsonPath)).map { "'\($0)'" }.joined(separator: ", ")
        return """
            SELECT d.fingerprint, d.hostname, d.machine_id, d.state, d.enrolled_at, d.accepted_at,
                d.last_submission_at, d.client_release, d.suspended_at,
                CASE WHEN d.last_port_deprecated THEN d.last_port END AS deprecated_port,
                json_extract(doc.document, \(jsonPaths)) AS projected,
                doc.failed_plugins,
                (SELECT min(created_at) FROM patches p WHERE p.fingerprint = d.fingerprint AND p.state = 'pending')
                    AS oldest_pending_patch,
                \(clashSQL(on: "hostname")) AS hostname_clashes,
                \(clashSQL(on: "machine_id")) AS machine_id_clashes,
                (SELECT max(o.last_submission_at) FROM device_links l JOIN devices o ON o.fingerprint = l.linked
                 WHERE l.fingerprint = d.fingerprint) AS linked_last_report,
                (SELECT value FROM client_parameters c WHERE c.fingerprint = d.fingerprint AND c.name = 'user_email')
                    AS user_email
            FROM devices d LEFT JOIN documents doc ON doc.fingerprint = d.fingerprint
            WHERE d.state = 'accepted' \(after ? "AND (d.hostname, d.fingerprint) > (?, ?)" : "")
            ORDER BY d.hostname, d.fingerprint LIMIT ?
            """
    }

    /// Up to `KeyClashes.shown + 1` other accepted or pending keys with the same `column`, as
    /// "FINGERPRINT HOSTNAME,..." (hostnames hold neither spaces nor commas); NULL when none.
    private static func clashSQL(on column: String) -> String {
        """
        (SELECT group_concat(o.fingerprint || ' ' || o.hostname, ',') FROM (
            SELECT fingerprint, hostname FROM devices o WHERE o.\(column) = d.\(column) AND o.fingerprint != d.fingerprint
                AND o.state IN ('accepted', 'pending') ORDER BY o.fingerprint LIMIT \(KeyClashes.shown + 1)) o)
        """
    }

    /// `$."plugins"."sshd"."running"`: components are letters, digits, _ and - (see DocumentPath).
    private static func jsonPath(_ path: DocumentPath) -> String {
        "$" + path.components.map { ".\"\($0)\"" }.joined()
    }

    /// The audit query's columns, read by position: a fleet-sized loop should not look names up.
    private enum AuditColumn {
        static let fingerprint = 0, hostname = 1, machineID = 2, state = 3, enrolledAt = 4, acceptedAt = 5
        static let lastSubmissionAt = 6, clientRelease = 7, suspendedAt = 8, deprecatedPort = 9, projected = 10
        static let failedPlugins = 11, oldestPendingPatch = 12, hostnameClashes = 13, machineIDClashes = 14
        static let linkedLastReport = 15, userEmail = 16
    }

    private static func auditRecord(_ row: Row) -> AuditRecord {
        typealias C = AuditColumn
        let device = Device(
            fingerprint: row[C.fingerprint], publicKey: "", hostname: row[C.hostname],
            machineID: row[C.machineID], state: DeviceState(rawValue: row[C.state]) ?? .pending,
            enrolledAt: row[C.enrolledAt], acceptedAt: row[C.acceptedAt],
            lastSubmissionAt: row[C.lastSubmissionAt], clientRelease: row[C.clientRelease],
            suspendedAt: row[C.suspendedAt])
        // json_extract's array starts with the placeholder path's null (see auditSQL).
        let projected: String? = row[C.projected]
        return AuditRecord(
            device: device, projectedValues: projected.flatMap(Self.droppingPlaceholder),
            failedPlugins: row[C.failedPlugins],
            facts: DeviceFacts(
                oldestPendingPatchAt: row[C.oldestPendingPatch],
                clashes: KeyClashes(
                    hostname: KeyClashes.keys(listed: row[C.hostnameClashes]),
                    machineID: KeyClashes.keys(listed: row[C.machineIDClashes])),
                linkedLastReportAt: row[C.linkedLastReport], userEmail: row[C.userEmail],
                deprecatedPort: row[C.deprecatedPort]))
    }

    /// `[null,a,b]` becomes `[a,b]`; SQLite writes JSON compactly, so the prefix is exact.
    private static func droppingPlaceholder(_ text: String) -> String? {
        text.hasPrefix("[null,") ? "[" + text.dropFirst(6) : nil
    }

    private static func liveIssues(_ db: Database, fingerprints: [String]) throws -> [String: [IssueRecord]] {
        guard !fingerprints.isEmpty else { return [:] }
        let marks = Array(repeating: "?", count: fingerprints.count).joined(separator: ",")
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT * FROM issues WHERE fingerprint IN (\(marks)) AND (closed_at IS NULL OR held = 1) ORDER BY id
                """, arguments: StatementArguments(fingerprints))
        return Dictionary(grouping: rows.map(issue(from:)), by: \.fingerprint)
    }

    public func apply(_ changes: [IssueChange]) async throws {
        guard !changes.isEmpty else { return }
        try await pool.write { db in
            for change in changes { try Self.apply(change, in: db) }
        }
    }

    /// Each change is one of a few statements, compiled once per connection (a first audit of a
    /// large fleet opens tens of thousands of issues).
    private static func apply(_ change: IssueChange, in db: Database) throws {
        func run(_ sql: String, _ arguments: StatementArguments) throws {
            try db.cachedStatement(sql: sql).execute(arguments: arguments)
        }
        switch change {
        case .open(let issue):
            try run(
                """
                INSERT INTO issues (fingerprint, name, opened_at, opened_by, alerted_at, snoozed_until, held,
                                    held_data_at, detail)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (fingerprint, name) WHERE closed_at IS NULL DO NOTHING
                """,
                [
                    issue.fingerprint, issue.name, issue.openedAt, issue.openedBy.rawValue,
                    issue.alertedAt, issue.snoozedUntil, issue.held, issue.heldDataAt, issue.detail
                ])
        case .close(let id, let at, let reason):
            // A manual close holds against the audit until the device sends newer data.
            try run(
                """
                UPDATE issues SET closed_at = ?, close_reason = ?, held = ?,
                    held_data_at = (SELECT last_submission_at FROM devices WHERE devices.fingerprint = issues.fingerprint)
                WHERE id = ? AND closed_at IS NULL
                """, [at, reason.rawValue, reason == .manual, id])
        case .markAlerted(let id, let at):
            try run("UPDATE issues SET alerted_at = ? WHERE id = ?", [at, id])
        case .updateDetail(let id, let detail):
            try run("UPDATE issues SET detail = ? WHERE id = ?", [detail, id])
        case .releaseHold(let id):
            try run("UPDATE issues SET held = 0 WHERE id = ?", [id])
        }
    }

    public func openIssues(fingerprint: String?) async throws -> [IssueRecord] {
        try await pool.read { db in
            let filter = fingerprint == nil ? "" : " AND fingerprint = ?"
            return try Row.fetchAll(
                db, sql: "SELECT * FROM issues WHERE closed_at IS NULL\(filter) ORDER BY opened_at, id",
                arguments: StatementArguments(fingerprint.map { [$0] } ?? [])
            )
            .map(Self.issue(from:))
        }
    }

    public func issueHistory(fingerprint: String, limit: Int) async throws -> [IssueRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM issues WHERE fingerprint = ? ORDER BY id DESC LIMIT ?",
                arguments: [fingerprint, limit]
            ).map(Self.issue(from:))
        }
    }

    public func snooze(until: Date, fingerprint: String?, name: String?) async throws -> Int {
        try await setSnooze(until, of: "closed_at IS NULL", [], fingerprint: fingerprint, name: name)
    }

    public func unsnooze(fingerprint: String?, name: String?, now: Date) async throws -> Int {
        try await setSnooze(nil, of: "closed_at IS NULL AND snoozed_until > ?", [now], fingerprint: fingerprint, name: name)
    }

    /// Sets `snoozed_until` of the issues matching `condition` and the filters; returns how many.
    private func setSnooze(
        _ until: Date?, of condition: String, _ conditionArguments: StatementArguments,
        fingerprint: String?, name: String?
    ) async throws -> Int {
        try await pool.write { db in
            var sql = "UPDATE issues SET snoozed_until = ? WHERE " + condition
            var arguments: StatementArguments = [until]
            arguments += conditionArguments
            if let fingerprint {
                sql += " AND fingerprint = ?"
                arguments += [fingerprint]
            }
            if let name {
                sql += " AND name = ?"
                arguments += [name]
            }
            try db.execute(sql: sql, arguments: arguments)
            return db.changesCount
        }
    }

    public func suspend(fingerprint: String, at: Date?) async throws {
        try await pool.write { db in
            try db.execute(sql: "UPDATE devices SET suspended_at = ? WHERE fingerprint = ?", arguments: [at, fingerprint])
        }
    }

    static func issue(from row: Row) -> IssueRecord {
        var issue = IssueRecord(
            fingerprint: row["fingerprint"], name: row["name"], openedAt: row["opened_at"],
            openedBy: IssueRecord.Opener(rawValue: row["opened_by"]) ?? .audit,
            detail: row["detail"])
        issue.id = row["id"]
        issue.closedAt = row["closed_at"]
        issue.closeReason = (row["close_reason"] as String?).flatMap(IssueRecord.CloseReason.init(rawValue:))
        issue.alertedAt = row["alerted_at"]
        issue.snoozedUntil = row["snoozed_until"]
        issue.held = row["held"]
        issue.heldDataAt = row["held_data_at"]
        return issue
    }

    // MARK: - Client parameters

    public func parameters(fingerprint: String) async throws -> [String: String] {
        try await pool.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT name, value FROM client_parameters WHERE fingerprint = ?",
                arguments: [fingerprint])
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["name"], $0["value"]) })
        }
    }

    public func setParameter(_ name: String, value: String?, fingerprint: String) async throws {
        try await pool.write { db in
            if let value {
                try db.execute(
                    sql: """
                        INSERT INTO client_parameters (fingerprint, name, value) VALUES (?, ?, ?)
                        ON CONFLICT(fingerprint, name) DO UPDATE SET value = excluded.value
                        """, arguments: [fingerprint, name, value])
            } else {
                try db.execute(
                    sql: "DELETE FROM client_parameters WHERE fingerprint = ? AND name = ?",
                    arguments: [fingerprint, name])
            }
        }
    }

    public func links(fingerprint: String) async throws -> [String] {
        try await pool.read { db in
            try String.fetchAll(
                db, sql: "SELECT linked FROM device_links WHERE fingerprint = ? ORDER BY linked",
                arguments: [fingerprint])
        }
    }

    public func link(_ fingerprints: [String]) async throws {
        try await pool.write { db in
            for a in fingerprints {
                for b in fingerprints where a != b {
                    try db.execute(
                        sql: "INSERT OR IGNORE INTO device_links (fingerprint, linked) VALUES (?, ?)",
                        arguments: [a, b])
                }
            }
        }
    }

    public func unlink(_ fingerprint: String, from others: [String]) async throws {
        try await pool.write { db in
            for other in others {
                try db.execute(
                    sql: """
                        DELETE FROM device_links WHERE (fingerprint = ? AND linked = ?) OR (fingerprint = ? AND linked = ?)
                        """, arguments: [fingerprint, other, other, fingerprint])
            }
        }
    }
}
