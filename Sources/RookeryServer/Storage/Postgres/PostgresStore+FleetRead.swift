import Foundation
import PostgresNIO
import RookeryCore

extension PostgresStore {
    public func fleetCounts(now: Date) async throws -> FleetCounts {
        var counts = FleetCounts()
        let states = try await pool.query("SELECT state, count(*) FROM devices GROUP BY state", logger: logger)
        for try await (state, n) in states.decode((String, Int64).self) {
            if let state = DeviceState(rawValue: state) { counts.devicesByState[state] = Int(n) }
        }
        let (hourAgo, dayAgo) = (now.addingTimeInterval(-3600), now.addingTimeInterval(-86_400))
        let reporting = try await pool.query(
            """
            SELECT count(*) FILTER (WHERE last_submission_at >= \(hourAgo)),
                   count(*) FILTER (WHERE last_submission_at < \(hourAgo) AND last_submission_at >= \(dayAgo)),
                   count(*) FILTER (WHERE last_submission_at IS NULL OR last_submission_at < \(dayAgo))
            FROM devices WHERE state = 'accepted'
            """, logger: logger)
        for try await (hour, day, silent) in reporting.decode((Int64, Int64, Int64).self) {
            (counts.reportedWithinHour, counts.reportedWithinDay, counts.silent) = (Int(hour), Int(day), Int(silent))
        }
        let issues = try await pool.query(
            """
            SELECT name, count(*), count(*) FILTER (WHERE snoozed_until > \(now))
            FROM issues WHERE closed_at IS NULL GROUP BY name ORDER BY name COLLATE "C"
            """, logger: logger)
        for try await (name, open, snoozed) in issues.decode((String, Int64, Int64).self) {
            counts.openIssues.append(CheckIssueCount(check: name, open: Int(open), snoozed: Int(snoozed)))
        }
        return counts
    }

    public func devicePage(_ query: DeviceListQuery) async throws -> DeviceListPage {
        let state = query.state?.rawValue
        let total =
            try await pool.query("SELECT count(*) FROM devices WHERE \(state)::text IS NULL OR state = \(state)", logger: logger)
            .single(Int.self) ?? 0
        let rows = try await pool.query(
            """
            SELECT d.fingerprint, d.hostname, d.state, d.enrolled_at, d.last_submission_at, d.client_release,
                   d.flags <> '[]',
                   (SELECT count(*) FROM issues i WHERE i.fingerprint = d.fingerprint AND i.closed_at IS NULL) AS open_issues
            FROM devices d WHERE \(state)::text IS NULL OR d.state = \(state)
            ORDER BY \(unescaped: query.sort.orderBy(descending: query.descending, hostnameCollation: " COLLATE \"C\""))
            LIMIT \(Int64(query.page.size)) OFFSET \(Int64(query.page.offset))
            """, logger: logger)
        var page = DeviceListPage(rows: [], total: total)
        for try await row in rows.decode((String, String, String, Date, Date?, Int64?, Bool, Int64).self) {
            page.rows.append(
                DeviceListRow(
                    fingerprint: row.0, hostname: row.1, state: DeviceState(rawValue: row.2) ?? .pending,
                    enrolledAt: row.3, lastSubmissionAt: row.4, clientRelease: row.5.map { Int($0) },
                    openIssues: Int(row.7), flagged: row.6))
        }
        return page
    }

    public func openIssuePage(_ query: OpenIssueQuery) async throws -> OpenIssuePage {
        let (check, page) = (query.check, query.page)
        let total =
            try await pool.query(
                "SELECT count(*) FROM issues WHERE closed_at IS NULL AND (\(check)::text IS NULL OR name = \(check))", logger: logger
            )
            .single(Int.self) ?? 0
        let rows = try await pool.query(
            """
            SELECT i.name, i.fingerprint, d.hostname, i.opened_at, i.snoozed_until, i.alerted_at, i.detail
            FROM issues i JOIN devices d ON d.fingerprint = i.fingerprint
            WHERE i.closed_at IS NULL AND (\(check)::text IS NULL OR i.name = \(check))
            ORDER BY \(unescaped: query.orderBy(hostnameCollation: " COLLATE \"C\""))
            LIMIT \(Int64(page.size)) OFFSET \(Int64(page.offset))
            """, logger: logger)
        var issues = OpenIssuePage(rows: [], total: total)
        for try await row in rows.decode((String, String, String, Date, Date?, Date?, String).self) {
            issues.rows.append(
                OpenIssueRow(
                    check: row.0, fingerprint: row.1, hostname: row.2, openedAt: row.3, snoozedUntil: row.4, alertedAt: row.5,
                    detail: row.6))
        }
        return issues
    }

    public func devicesByRelease() async throws -> [Int?: Int] {
        let rows = try await pool.query(
            "SELECT client_release, count(*) FROM devices WHERE state = 'accepted' GROUP BY client_release", logger: logger)
        var counts: [Int?: Int] = [:]
        for try await (release, n) in rows.decode((Int64?, Int64).self) { counts[release.map { Int($0) }] = Int(n) }
        return counts
    }
}
