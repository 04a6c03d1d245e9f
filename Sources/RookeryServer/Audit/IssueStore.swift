import Foundation
import RookeryCore

/// What the audit, `bin/issues` and `bin/client_parameters` keep. Part of `Store`; every method is
/// one transaction.
public protocol IssueStore: Sendable {
    /// Waits until no other audit on this database runs, and holds that until the hold is
    /// released (or the process ends): two audits, cron's and an admin's or two hosts', would both
    /// alert the same issues. SQLite serves one host, whose audits take a file lock (`IssuesAudit`).
    func holdAuditLock() async throws -> AuditLockHold

    /// The next `limit` accepted devices after `cursor` in (hostname, fingerprint) order, each with
    /// only the document values at `paths`, so an audit of a large fleet never holds it whole.
    func auditRecords(after cursor: AuditCursor?, limit: Int, paths: [DocumentPath]) async throws -> [AuditRecord]
    func apply(_ changes: [IssueChange]) async throws

    /// Open issues, of one device or all, oldest first.
    func openIssues(fingerprint: String?) async throws -> [IssueRecord]
    /// A device's issues, open and closed, newest first.
    func issueHistory(fingerprint: String, limit: Int) async throws -> [IssueRecord]
    /// Snoozes open issues until `until`; nil filters match all. Returns how many it snoozed.
    func snooze(until: Date, fingerprint: String?, name: String?) async throws -> Int
    /// Ends the snoozes of open issues that still run at `now`; nil filters match all. Returns how
    /// many it ended (a snooze that already ran out hides nothing, so it is not counted).
    func unsnooze(fingerprint: String?, name: String?, now: Date) async throws -> Int
    /// Hides a device's issues until it next reports (nil: at once).
    func suspend(fingerprint: String, at: Date?) async throws

    func parameters(fingerprint: String) async throws -> [String: String]
    func setParameter(_ name: String, value: String?, fingerprint: String) async throws
    /// The devices linked to this one (user_clients), in no particular order.
    func links(fingerprint: String) async throws -> [String]
    /// Links every pair among `fingerprints`, keeping other links.
    func link(_ fingerprints: [String]) async throws
    /// Removes the links between `fingerprint` and each of `others`, keeping other links.
    func unlink(_ fingerprint: String, from others: [String]) async throws
}

extension IssueStore {
    /// Every accepted device with the document values at `paths`, in (hostname, fingerprint)
    /// order, read `batchSize` at a time so a large fleet is never held whole by the read.
    func forEachAuditSubject(paths: [DocumentPath], batchSize: Int = 1000, _ body: (AuditSubject) throws -> Void) async throws {
        var cursor: AuditCursor?
        while true {
            let records = try await auditRecords(after: cursor, limit: batchSize, paths: paths)
            for record in records { try body(try record.subject(paths: paths)) }
            guard records.count == batchSize, let last = records.last?.device else { return }
            cursor = AuditCursor(hostname: last.hostname, fingerprint: last.fingerprint)
        }
    }
}

/// An audit's hold on its store's audit lock (see `IssueStore.holdAuditLock`).
public struct AuditLockHold: Sendable {
    private let releasing: @Sendable () async -> Void

    public init(release: @escaping @Sendable () async -> Void) { releasing = release }

    /// No lock to hold: a store that serves one host.
    public static let none = AuditLockHold(release: {})

    public func release() async { await releasing() }
}
