import Foundation
import GRDB
import RookeryCore

extension SQLiteStore {
    public func recordAudit(_ run: AuditRun, tallies: [ComplianceTally]) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO audit_runs (started_at, finished_at, devices, opened, closed) VALUES (?, ?, ?, ?, ?)",
                arguments: [run.startedAt, run.finishedAt, run.devices, run.opened, run.closed])
            try db.execute(
                sql: "DELETE FROM audit_runs WHERE id <= (SELECT max(id) FROM audit_runs) - ?", arguments: [AuditRun.kept])
            // The day's earlier audit counted checks that may since have been removed.
            try db.execute(sql: "DELETE FROM compliance_daily WHERE day = ?", arguments: [run.day])
            for tally in tallies {
                try db.execute(
                    sql: "INSERT INTO compliance_daily (day, check_name, passed, failed, unknown) VALUES (?, ?, ?, ?, ?)",
                    arguments: [run.day, tally.check, tally.passed, tally.failed, tally.unknown])
            }
        }
    }

    public func lastAuditRun() async throws -> AuditRun? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM audit_runs ORDER BY id DESC LIMIT 1").map {
                AuditRun(
                    startedAt: $0["started_at"], finishedAt: $0["finished_at"], devices: $0["devices"], opened: $0["opened"],
                    closed: $0["closed"])
            }
        }
    }

    public func complianceTrend(check: String, since day: String) async throws -> [ComplianceDay] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT day, passed, failed, unknown FROM compliance_daily WHERE check_name = ? AND day >= ? ORDER BY day",
                arguments: [check, day]
            ).map { ComplianceDay(day: $0["day"], passed: $0["passed"], failed: $0["failed"], unknown: $0["unknown"]) }
        }
    }
}
