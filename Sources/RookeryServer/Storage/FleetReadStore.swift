import Foundation
import RookeryCore

/// What the dashboard, its read API and /metrics read: counts and pages the database computes, so
/// that no page of a large fleet loads the fleet. Part of `Store`.
public protocol FleetReadStore: Sendable {
    /// Devices by state, accepted devices by how recently they reported, open issues by check.
    func fleetCounts(now: Date) async throws -> FleetCounts
    /// One page of devices, filtered, sorted and counted by the database.
    func devicePage(_ query: DeviceListQuery) async throws -> DeviceListPage
    /// One page of the open issues, of one check or all, in `order`.
    func openIssuePage(_ query: OpenIssueQuery) async throws -> OpenIssuePage
    /// How many accepted devices run each client release (nil: not said yet).
    func devicesByRelease() async throws -> [Int?: Int]
}

/// Which slice of a long list to read.
public struct PageRequest: Sendable, Equatable {
    public static let maxSize = 500
    public var number: Int
    public var size: Int

    /// `number` from 1; `size` from 1 to `maxSize`.
    public init(number: Int = 1, size: Int = 50) {
        self.number = max(1, number)
        self.size = min(max(1, size), Self.maxSize)
    }

    public var offset: Int { (number - 1) * size }
}

public struct FleetCounts: Sendable, Equatable {
    public var devicesByState: [DeviceState: Int]
    /// Accepted devices whose last report is within the hour, within a day, older (or never).
    public var reportedWithinHour: Int
    public var reportedWithinDay: Int
    public var silent: Int
    /// Open issues per check name, snoozed ones counted apart.
    public var openIssues: [CheckIssueCount]

    public init(
        devicesByState: [DeviceState: Int] = [:], reportedWithinHour: Int = 0, reportedWithinDay: Int = 0,
        silent: Int = 0, openIssues: [CheckIssueCount] = []
    ) {
        self.devicesByState = devicesByState
        self.reportedWithinHour = reportedWithinHour
        self.reportedWithinDay = reportedWithinDay
        self.silent = silent
        self.openIssues = openIssues
    }
}

public struct CheckIssueCount: Sendable, Equatable {
    public var check: String
    public var open: Int
    public var snoozed: Int

    public init(check: String, open: Int, snoozed: Int) {
        self.check = check
        self.open = open
        self.snoozed = snoozed
    }
}

public struct DeviceListQuery: Sendable, Equatable {
    public enum Sort: String, Sendable, CaseIterable {
        case hostname
        case lastReport = "last_report"
        case openIssues = "open_issues"
        case enrolled
    }

    public var state: DeviceState?
    public var sort: Sort
    public var descending: Bool
    public var page: PageRequest

    public init(state: DeviceState? = nil, sort: Sort = .hostname, descending: Bool = false, page: PageRequest = PageRequest()) {
        self.state = state
        self.sort = sort
        self.descending = descending
        self.page = page
    }
}

/// A device as a list shows it.
public struct DeviceListRow: Sendable, Equatable {
    public var fingerprint: String
    public var hostname: String
    public var state: DeviceState
    public var enrolledAt: Date
    public var lastSubmissionAt: Date?
    public var clientRelease: Int?
    public var openIssues: Int
    public var flagged: Bool
}

public struct DeviceListPage: Sendable, Equatable {
    public var rows: [DeviceListRow]
    /// How many devices match the query, over every page.
    public var total: Int
}

public struct OpenIssueQuery: Sendable, Equatable {
    public enum Sort: String, Sendable, CaseIterable {
        /// When the device started failing (oldest first ascending).
        case since
        case hostname
    }

    /// nil: every check.
    public var check: String?
    public var sort: Sort
    public var descending: Bool
    public var page: PageRequest

    public init(check: String? = nil, sort: Sort = .since, descending: Bool = false, page: PageRequest = PageRequest()) {
        self.check = check
        self.sort = sort
        self.descending = descending
        self.page = page
    }

    /// The ORDER BY both stores use (the issue id breaks ties).
    func orderBy(hostnameCollation: String) -> String {
        let direction = descending ? "DESC" : "ASC"
        switch sort {
        case .since: return "i.opened_at \(direction), i.id \(direction)"
        case .hostname: return "d.hostname\(hostnameCollation) \(direction), i.name \(direction), i.id \(direction)"
        }
    }
}

/// An open issue: a device failing one check.
public struct OpenIssueRow: Sendable, Equatable {
    public var check: String
    public var fingerprint: String
    public var hostname: String
    public var openedAt: Date
    public var snoozedUntil: Date?
    public var alertedAt: Date?
    public var detail: String
}

public struct OpenIssuePage: Sendable, Equatable {
    public var rows: [OpenIssueRow]
    public var total: Int
}

extension DeviceListQuery.Sort {
    /// The ORDER BY of this sort; both stores share it (the fingerprint breaks ties, so pages
    /// never overlap). `hostname` compares bytes, as the stores' other lists do.
    func orderBy(descending: Bool, hostnameCollation: String) -> String {
        let direction = descending ? "DESC" : "ASC"
        let column =
            switch self {
            case .hostname: "d.hostname\(hostnameCollation)"
            case .lastReport: "d.last_submission_at"
            case .openIssues: "open_issues"
            case .enrolled: "d.enrolled_at"
            }
        // A device that never reported sorts as the oldest, whichever the direction.
        let nulls = self == .lastReport ? (descending ? " NULLS LAST" : " NULLS FIRST") : ""
        return "\(column) \(direction)\(nulls), d.hostname\(hostnameCollation) \(direction), d.fingerprint \(direction)"
    }
}
