import Foundation

/// What the audit found on one device: every check that is open or undecided there.
public struct DeviceAudit: Sendable {
    public var device: Device
    public var userEmail: String?
    public var entries: [AuditEntry]
    /// Checks that apply to groups the device is not in: neither passed nor failed there.
    public var notApplicable: [String] = []

    /// Only the entries a report of `scope` shows; a device with none is left out of the report.
    public func entries(in scope: AuditScope) -> [AuditEntry] {
        entries.filter { scope.shows($0.status) }
    }
}

/// One check on one device.
public struct AuditEntry: Sendable {
    public var check: String
    public var description: String
    public var remediation: String?
    public var status: AuditStatus
    public var openedAt: Date?
    public var graceEndsAt: Date?
    public var alertedAt: Date?
    public var snoozedUntil: Date?
    public var detail: String
}

public enum AuditStatus: String, Sendable, Codable, CaseIterable {
    /// Past its grace and due for an alert now (never alerted, or alert_every has passed).
    case due
    /// Past its grace, alerted recently enough not to alert again yet.
    case alerted
    /// Open, within its grace period.
    case grace
    case snoozed
    /// The device is suspended until it next reports.
    case suspended
    /// The data cannot tell (a missing value under `missing: unknown`); nothing is opened.
    case unknown
    /// Accepted as not applicable until a date (`bin/issues except`); nothing is opened.
    case excepted
}

/// Which entries a report shows.
public enum AuditScope: Sendable {
    /// What cron mails: alerts due now.
    case due
    /// Everything past its grace and not hidden by a snooze or suspension.
    case active
    /// Everything, including grace periods, snoozes, suspended hosts and undecided checks.
    case full

    func shows(_ status: AuditStatus) -> Bool {
        switch self {
        case .due: status == .due
        case .active: status == .due || status == .alerted
        case .full: true
        }
    }
}
