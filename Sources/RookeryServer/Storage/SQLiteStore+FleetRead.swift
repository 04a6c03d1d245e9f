import Foundation
import GRDB
import RookeryCore

extension SQLiteStore {
    public func fleetCounts(now: Date) async throws -> FleetCounts {
        try await pool.read { db in
            var counts = FleetCounts()
            for row in try Row.fetchAll(db, sql: "SELECT state, count(*) AS n FROM devices GROUP BY state") {
                if let state = DeviceState(rawValue: row["state"]) { counts.devicesByState[state] = row["n"] }
            }
            let (hourAgo, dayAgo) = (now.addingTimeInterval(-3600), now.addingTimeInterval(-86_400))
            if let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT coalesce(sum(last_submission_at >= ?1), 0) AS hour,
                           coalesce(sum(last_submission_at < ?1 AND last_submission_at >= ?2), 0) AS day,
                           coalesce(sum(last_submission_at IS NULL OR last_submission_at < ?2), 0) AS silent
                    FROM devices WHERE state = 'accepted'
                    """, arguments: [hourAgo, dayAgo])
            {
                (counts.reportedWithinHour, counts.reportedWithinDay, counts.silent) = (row["hour"], row["day"], row["silent"])
            }
            counts.openIssues = try Row.fetchAll(
                db,
                sql: """
                    SELECT name, count(*) AS open, coalesce(sum(snoozed_until > ?), 0) AS snoozed
                    FROM issues WHERE closed_at IS NULL GROUP BY name ORDER BY name
                    """, arguments: [now]
            ).map { CheckIssueCount(check: $0["name"], open: $0["open"], snoozed: $0["snoozed"]) }
            return counts
        }
    }

    public func devicePage(_ query: DeviceListQuery) async throws -> DeviceListPage {
        try await pool.read { db in
            let state = query.state?.rawValue
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM devices WHERE ?1 IS NULL OR state = ?1", arguments: [state]) ?? 0
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT d.fingerprint, d.hostname, d.state, d.enrolled_at, d.last_submission_at, d.client_release,
                           d.flags != '[]' AS flagged,
                           (SELECT count(*) FROM issues i WHERE i.fingerprint = d.fingerprint AND i.closed_at IS NULL) AS open_issues
                    FROM devices d WHERE ?1 IS NULL OR d.state = ?1
                    ORDER BY \(query.sort.orderBy(descending: query.descending, hostnameCollation: ""))
                    LIMIT ?2 OFFSET ?3
                    """, arguments: [state, query.page.size, query.page.offset])
            return DeviceListPage(rows: rows.map(Self.listRow(from:)), total: total)
        }
    }

    public func openIssuePage(_ query: OpenIssueQuery) async throws -> OpenIssuePage {
        let (check, page) = (query.check, query.page)
        return try await pool.read { db in
            let total =
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM issues WHERE closed_at IS NULL AND (?1 IS NULL OR name = ?1)", arguments: [check])
                ?? 0
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT i.name, i.fingerprint, d.hostname, i.opened_at, i.snoozed_until, i.alerted_at, i.detail
                    FROM issues i JOIN devices d ON d.fingerprint = i.fingerprint
                    WHERE i.closed_at IS NULL AND (?1 IS NULL OR i.name = ?1)
                    ORDER BY \(query.orderBy(hostnameCollation: "")) LIMIT ?2 OFFSET ?3
                    """, arguments: [check, page.size, page.offset])
            return OpenIssuePage(
                rows: rows.map {
                    OpenIssueRow(
                        check: $0["name"], fingerprint: $0["fingerprint"], hostname: $0["hostname"], openedAt: $0["opened_at"],
                        snoozedUntil: $0["snoozed_until"], alertedAt: $0["alerted_at"], detail: $0["detail"])
                }, total: total)
        }
    }

    public func devicesByRelease() async throws -> [Int?: Int] {
        try await pool.read { db in
            var counts: [Int?: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT client_release, count(*) AS n FROM devices WHERE state = 'accepted' GROUP BY client_release")
            {
                counts[row["client_release"] as Int?] = row["n"]
            }
            return counts
        }
    }

    private static func listRow(from row: Row) -> DeviceListRow {
        DeviceListRow(
            fingerprint: row["fingerprint"], hostname: row["hostname"],
            state: DeviceState(rawValue: row["state"]) ?? .pending, enrolledAt: row["enrolled_at"],
            lastSubmissionAt: row["last_submission_at"], clientRelease: row["client_release"],
            openIssues: row["open_issues"], flagged: row["flagged"])
    }
}
