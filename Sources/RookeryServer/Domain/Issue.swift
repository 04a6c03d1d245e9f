import Foundation
import RookeryCore

/// One device failing one check, from the moment the audit saw it until it was fixed or closed.
/// Closed issues are kept, so `bin/issues history` can tell a device's story.
public struct IssueRecord: Sendable, Equatable {
    public var id: Int64?
    public var fingerprint: String
    public var name: String
    /// When the problem was first seen: the submission time of the document that showed it.
    public var openedAt: Date
    public var closedAt: Date?
    public var closeReason: CloseReason?
    public var alertedAt: Date?
    public var snoozedUntil: Date?
    /// Who opened it: the audit, or an admin with `bin/issues open`.
    public var openedBy: Opener
    /// A manual open or close holds against the audit until the device sends data newer than this
    /// (nil: until its first data); `held` is cleared once that data arrives.
    public var held: Bool
    public var heldDataAt: Date?
    /// What the audit saw, e.g. which plugins failed.
    public var detail: String

    public enum Opener: String, Sendable, Codable { case audit, admin }
    public enum CloseReason: String, Sendable, Codable {
        /// The check no longer fails.
        case resolved
        /// An admin closed it with `bin/issues close`.
        case manual
        /// The check was removed from issues.yml.
        case checkRemoved = "check-removed"
        /// An admin accepted the check as not applicable to the device (`bin/issues except`).
        case excepted
        /// The check applies to groups (issues.yml `groups:`) the device is no longer in.
        case notInGroup = "not-in-group"
    }

    public init(fingerprint: String, name: String, openedAt: Date, openedBy: Opener = .audit, detail: String = "") {
        self.fingerprint = fingerprint
        self.name = name
        self.openedAt = openedAt
        self.openedBy = openedBy
        self.held = false
        self.detail = detail
    }

    public var isOpen: Bool { closedAt == nil }

    public func isSnoozed(at now: Date) -> Bool { snoozedUntil.map { $0 > now } ?? false }

    /// Whether a manual open or close still holds, given the device's latest data.
    public func stillHeld(lastDataAt: Date?) -> Bool {
        guard held else { return false }
        guard let lastDataAt else { return true }
        return heldDataAt.map { lastDataAt <= $0 } ?? false
    }
}

/// What one audit pass changes, written in one transaction per batch of devices.
public enum IssueChange: Sendable, Equatable {
    case open(IssueRecord)
    case close(id: Int64, at: Date, reason: IssueRecord.CloseReason)
    case markAlerted(id: Int64, at: Date)
    case updateDetail(id: Int64, detail: String)
    /// New data arrived after a manual open or close: the audit decides again.
    case releaseHold(id: Int64)
}

/// What the store finds out about a device for the computed checks and the mail.
public struct DeviceFacts: Sendable {
    public var oldestPendingPatchAt: Date?
    /// Other accepted or pending keys that use this hostname or machine id.
    public var clashes: KeyClashes
    /// The latest report of any device linked to this one through user_clients.
    public var linkedLastReportAt: Date?
    public var userEmail: String?
    /// The port of the device's latest submission, when that port is marked deprecated.
    public var deprecatedPort: Int?

    public init(
        oldestPendingPatchAt: Date? = nil, clashes: KeyClashes = KeyClashes(), linkedLastReportAt: Date? = nil,
        userEmail: String? = nil, deprecatedPort: Int? = nil
    ) {
        self.oldestPendingPatchAt = oldestPendingPatchAt
        self.clashes = clashes
        self.linkedLastReportAt = linkedLastReportAt
        self.userEmail = userEmail
        self.deprecatedPort = deprecatedPort
    }
}

/// One device as a store hands it to the audit: facts, and the document's values at the audit's
/// paths as JSON text. Parsing that text is most of an audit's work, so the engine does it on
/// every core instead of the store doing it on its one database thread.
public struct AuditRecord: Sendable {
    public var device: Device
    /// A JSON array with one element per requested path (null where the document has nothing).
    public var projectedValues: String?
    /// A JSON array of the names of plugins whose whole output is "unknown".
    public var failedPlugins: String?
    public var facts: DeviceFacts
    /// Open issues, and closed ones whose manual close still holds.
    public var issues: [IssueRecord] = []

    public init(device: Device, projectedValues: String?, failedPlugins: String?, facts: DeviceFacts) {
        self.device = device
        self.projectedValues = projectedValues
        self.failedPlugins = failedPlugins
        self.facts = facts
    }

    /// The record with its JSON parsed; `paths` are those the record was read for, in order.
    public func subject(paths: [DocumentPath]) throws -> AuditSubject {
        var subject = AuditSubject(device: device, facts: facts, issues: issues)
        if let projectedValues, case .array(let values) = try JSONValue.parse(projectedValues) {
            for (path, value) in zip(paths, values) where value != .null { subject.projection.values[path] = value }
        }
        if let failedPlugins, failedPlugins != "[]", case .array(let names) = try JSONValue.parse(failedPlugins) {
            subject.failedPlugins = names.compactMap(\.stringValue).sorted()
        }
        return subject
    }
}

/// A device as the checks see it: its document's values at their paths, and its facts.
public struct AuditSubject: Sendable {
    public var device: Device
    public var projection: Projection
    /// Plugins whose whole output is "unknown".
    public var failedPlugins: [String]
    public var facts: DeviceFacts
    /// Open issues, and closed ones whose manual close still holds.
    public var issues: [IssueRecord]

    public init(
        device: Device, projection: Projection = Projection(), failedPlugins: [String] = [],
        facts: DeviceFacts = DeviceFacts(), issues: [IssueRecord] = []
    ) {
        self.device = device
        self.projection = projection
        self.failedPlugins = failedPlugins
        self.facts = facts
        self.issues = issues
    }
}

/// Where the audit resumes: devices come in (hostname, fingerprint) order.
public struct AuditCursor: Sendable, Equatable {
    public var hostname: String
    public var fingerprint: String
}
