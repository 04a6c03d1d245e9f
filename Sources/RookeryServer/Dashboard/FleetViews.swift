import Foundation
import RookeryCore

// What the dashboard's pages and the read API show, one type per page. Every value is already
// text (times in RFC 3339, secrets as `[secret]`): the API encodes these as JSON, the pages
// render them through templates that escape every value.

public struct OverviewView: Encodable, Sendable {
    public struct StateCount: Encodable, Sendable {
        let state: String
        let devices: Int
    }
    public struct CheckCount: Encodable, Sendable {
        let check: String
        let description: String
        let open: Int
        let snoozed: Int
    }
    let generatedAt: String
    let devicesByState: [StateCount]
    let reportedWithinHour: Int
    let reportedWithinDay: Int
    let silent: Int
    let openIssues: Int
    let checks: [CheckCount]
    /// The fleet's compliance on each of the last 30 days an audit ran.
    let trend: [ComplianceDay]
}

public struct DeviceRowView: Encodable, Sendable {
    let fingerprint: String
    let hostname: String
    let state: String
    let enrolledAt: String
    let lastReport: String?
    let clientRelease: Int?
    let openIssues: Int
    let flagged: Bool
}

public struct DeviceListView: Encodable, Sendable {
    let devices: [DeviceRowView]
    let total: Int
    let page: Int
    let perPage: Int
    let pages: Int
    let sort: String
    let order: String
    let state: String?
}

public struct IssueView: Encodable, Sendable {
    let check: String
    let openedAt: String
    let closedAt: String?
    let closeReason: String?
    let snoozedUntil: String?
    let alertedAt: String?
    let openedBy: String
    let detail: String
}

public struct FactView: Encodable, Sendable {
    let path: String
    let value: String
}

public struct PluginFactsView: Encodable, Sendable {
    let plugin: String
    let values: [FactView]
}

public struct ChangeView: Encodable, Sendable {
    let path: String
    let old: String?
    let new: String?
    let changedAt: String
}

public struct PatchView: Encodable, Sendable {
    let id: Int64
    let target: String
    let action: String
    let state: String
    let createdAt: String
    let message: String
}

/// A check accepted as not applicable to a device (`bin/issues except`).
public struct ExceptionView: Encodable, Sendable {
    let check: String
    let fingerprint: String
    let hostname: String
    let reason: String
    let createdBy: String
    let createdAt: String
    let until: String
}

public struct DeviceView: Encodable, Sendable {
    let fingerprint: String
    let hostname: String
    let machineId: String
    let state: String
    let enrolledAt: String
    let acceptedAt: String?
    let lastReport: String?
    let clientRelease: Int?
    let latestRelease: Int?
    let suspended: Bool
    let flags: [String]
    let openIssues: [IssueView]
    let pastIssues: [IssueView]
    /// Checks accepted as not applicable here, while they run.
    let exceptions: [ExceptionView]
    let facts: [PluginFactsView]
    let changes: [ChangeView]
    let pendingPatches: [PatchView]
}

/// An open issue: a device failing one check.
public struct OpenIssueView: Encodable, Sendable {
    let check: String
    let fingerprint: String
    let hostname: String
    let openedAt: String
    let snoozedUntil: String?
    let alertedAt: String?
    let detail: String
}

public struct CheckView: Encodable, Sendable {
    let check: String
    let description: String
    let remediation: String?
    let failing: [OpenIssueView]
    /// Devices this check is accepted as not applicable to, while their exceptions run.
    let excepted: [ExceptionView]
    let total: Int
    let page: Int
    let perPage: Int
    let pages: Int
    let sort: String
    let order: String
    /// This check's compliance on each of the last 30 days an audit ran.
    let trend: [ComplianceDay]
}

/// Open issues over the fleet, oldest first, a page at a time.
public struct IssueListView: Encodable, Sendable {
    let issues: [OpenIssueView]
    let check: String?
    let total: Int
    let page: Int
    let perPage: Int
    let pages: Int
    let sort: String
    let order: String
}

/// Every device check of issues.yml, with its open issues.
public struct ChecksView: Encodable, Sendable {
    public struct CheckSummary: Encodable, Sendable {
        let check: String
        let description: String
        let remediation: String?
        let open: Int
        let snoozed: Int
    }
    let checks: [CheckSummary]
}

/// A device's recorded changes, newest first.
public struct HistoryView: Encodable, Sendable {
    let fingerprint: String
    let hostname: String
    let changes: [ChangeView]
}

public struct PendingDeviceView: Encodable, Sendable {
    let fingerprint: String
    let hostname: String
    let machineId: String
    let enrolledAt: String
    let flags: [String]
}

public struct EnrollmentsView: Encodable, Sendable {
    let total: Int
    let page: Int
    let perPage: Int
    let pages: Int
    let pending: [PendingDeviceView]
}

public struct ReleaseView: Encodable, Sendable {
    let number: Int
    let createdAt: String
    let size: Int
    let sha256: String
    let files: Int
    let devices: Int
}

public struct ReleasesView: Encodable, Sendable {
    let releases: [ReleaseView]
}
