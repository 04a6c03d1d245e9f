import Foundation
import PostgresNIO
import RookeryCore

extension PostgresStore {
    public func recordAudit(_ run: AuditRun, tallies: [ComplianceTally]) async throws {
        let logger = logger
        try await transaction { connection in
            try await connection.query(
                """
                INSERT INTO audit_runs (started_at, finished_at, devices, opened, closed)
                VALUES (\(run.startedAt), \(run.finishedAt), \(Int32(clamping: run.devices)), \(Int32(clamping: run.opened)), \(Int32(clamping: run.closed)))
                """, logger: logger)
            try await connection.query(
                "DELETE FROM audit_runs WHERE id <= (SELECT max(id) FROM audit_runs) - \(Int64(AuditRun.kept))", logger: logger)
            // The day's earlier audit counted checks that may since have been removed.
            try await connection.query("DELETE FROM compliance_daily WHERE day = \(run.day)", logger: logger)
            guard !tallies.isEmpty else { return }
            try await connection.query(
                """
                INSERT INTO compliance_daily (day, check_name, passed, failed, unknown)
                SELECT \(run.day), * FROM UNNEST(
                    \(tallies.map(\.check))::text[], \(tallies.map { Int32(clamping: $0.passed) })::int[],
                    \(tallies.map { Int32(clamping: $0.failed) })::int[], \(tallies.map { Int32(clamping: $0.unknown) })::int[])
                """, logger: logger)
        }
    }

    public func lastAuditRun() async throws -> AuditRun? {
        let rows = try await pool.query(
            "SELECT started_at, finished_at, devices, opened, closed FROM audit_runs ORDER BY id DESC LIMIT 1", logger: logger)
        for try await (started, finished, devices, opened, closed) in rows.decode((Date, Date, Int32, Int32, Int32).self) {
            return AuditRun(startedAt: started, finishedAt: finished, devices: Int(devices), opened: Int(opened), closed: Int(closed))
        }
        return nil
    }

    public func complianceTrend(check: String, since day: String) async throws -> [ComplianceDay] {
        let rows = try await pool.query(
            """
            SELECT day, passed, failed, unknown FROM compliance_daily
            WHERE check_name = \(check) AND day >= \(day) ORDER BY day
            """, logger: logger)
        var days: [ComplianceDay] = []
        for try await (day, passed, failed, unknown) in rows.decode((String, Int32, Int32, Int32).self) {
            days.append(ComplianceDay(day: day, passed: Int(passed), failed: Int(failed), unknown: Int(unknown)))
        }
        return days
    }
}
