import Foundation
import RookeryCore

/// What each audit leaves behind for the dashboard, /metrics and `bin/issues trend`: when it ran,
/// and per check how many devices passed, failed and could not be told that day. Part of `Store`.
public protocol ComplianceStore: Sendable {
    /// Records a finished audit and its tallies, in one transaction. An audit's tallies replace
    /// what an earlier audit of the same day (UTC) recorded: a day shows its last audit.
    func recordAudit(_ run: AuditRun, tallies: [ComplianceTally]) async throws
    func lastAuditRun() async throws -> AuditRun?
    /// One check's days (`ComplianceTally.everyCheck`: the fleet as a whole) from `since` on,
    /// oldest first; days without an audit are absent.
    func complianceTrend(check: String, since day: String) async throws -> [ComplianceDay]
}

public struct AuditRun: Sendable, Equatable {
    public var startedAt: Date
    public var finishedAt: Date
    public var devices: Int
    public var opened: Int
    public var closed: Int

    public init(startedAt: Date, finishedAt: Date, devices: Int, opened: Int, closed: Int) {
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.devices = devices
        self.opened = opened
        self.closed = closed
    }

    public var duration: TimeInterval { finishedAt.timeIntervalSince(startedAt) }
    /// The day its tallies count for: the day (UTC) the audit started.
    public var day: String { ComplianceDay.day(of: startedAt) }
    /// How many runs the store keeps; older ones are dropped as new ones come.
    static let kept = 1000
}

/// How many audited devices passed, failed and could not be told one check.
public struct ComplianceTally: Sendable, Equatable {
    /// The name the fleet as a whole is recorded under: a device passes when it fails no check
    /// and is unknown when it fails none but cannot be told one. Check names cannot hold `*`.
    public static let everyCheck = "*"

    public var check: String
    public var passed: Int
    public var failed: Int
    public var unknown: Int

    public init(check: String, passed: Int = 0, failed: Int = 0, unknown: Int = 0) {
        self.check = check
        self.passed = passed
        self.failed = failed
        self.unknown = unknown
    }
}

public struct ComplianceDay: Encodable, Sendable, Equatable {
    public var day: String
    public var passed: Int
    public var failed: Int
    public var unknown: Int

    public init(day: String, passed: Int, failed: Int, unknown: Int) {
        self.day = day
        self.passed = passed
        self.failed = failed
        self.unknown = unknown
    }

    /// `YYYY-MM-DD` of `date` in UTC.
    public static func day(of date: Date) -> String { String(RFC3339.string(from: date).prefix(10)) }

    /// The first of the `days` days that end with `now`'s.
    public static func firstOf(days: Int, endingAt now: Date) -> String {
        day(of: now.addingTimeInterval(-86_400 * Double(max(days, 1) - 1)))
    }
}
