import Foundation
import RookeryCore

/// Runs the checks over every accepted device, a batch at a time, so memory does not grow with the
/// fleet: opens and closes issues as the data says, and hands each device's findings to a sink
/// (the report, the mailer) as it goes.
public struct AuditEngine: Sendable {
    public let catalog: CheckCatalog
    public let store: any IssueStore
    public let clock: GraceClock
    public var batchSize = 1000
    private let evaluator: CheckEvaluator
    /// Checks accepted as not applicable to a device while the audit runs.
    private let exceptions: ActiveExceptions
    /// The groups that checks with `groups:` apply to.
    private let membership: GroupMembership

    /// `secretSelectors`: the paths selected as secret; checks on them are not evaluable.
    public init(
        catalog: CheckCatalog, store: any IssueStore, clock: GraceClock = GraceClock(),
        secretSelectors: [SecretSelector] = [], exceptions: ActiveExceptions = .none, membership: GroupMembership = .none
    ) {
        self.catalog = catalog
        self.store = store
        self.clock = clock
        evaluator = CheckEvaluator(secretSelectors: secretSelectors)
        self.exceptions = exceptions
        self.membership = membership
    }

    public struct Options: Sendable {
        public var now: Date
        /// Record that due alerts were sent, so they wait alert_every before the next one (cron).
        public var markAlerted: Bool

        public init(now: Date = Date(), markAlerted: Bool = false) {
            self.now = now
            self.markAlerted = markAlerted
        }
    }

    public struct Summary: Sendable, Equatable {
        public var devices = 0, opened = 0, closed = 0, due = 0
    }

    @discardableResult
    public func run(_ options: Options, sink: (DeviceAudit) async throws -> Void = { _ in }) async throws -> Summary {
        var summary = Summary()
        try await forEachBatch { batch in
            // Evaluation is pure, so a batch is evaluated on every core; the sink sees devices in order.
            let results = batch.parallelMap { audit($0, options) }
            var changes: [IssueChange] = []
            for (audit, deviceChanges) in results {
                summary.devices += 1
                summary.opened += deviceChanges.filter { if case .open = $0 { true } else { false } }.count
                summary.closed += deviceChanges.filter { if case .close = $0 { true } else { false } }.count
                summary.due += audit.entries.filter { $0.status == .due }.count
                try await sink(audit)
                changes += deviceChanges
            }
            return changes
        }
        return summary
    }

    /// Every accepted device in (hostname, fingerprint) order, a batch at a time; the changes
    /// `body` returns for a batch are written before it is handed the next.
    public func forEachBatch(_ body: ([AuditSubject]) async throws -> [IssueChange]) async throws {
        let paths = Array(
            Set(
                catalog.checks.flatMap { check -> [DocumentPath] in
                    if case .condition(let condition) = check.kind { return condition.paths }
                    return []
                } + (catalog.deviceChecks.contains { $0.groups != nil } ? membership.paths : []))
        ).sorted { $0.description < $1.description }
        let store = self.store
        let size = batchSize
        // The next batch is read on a database thread while this one is parsed and evaluated on
        // the other cores: two batches in memory at most.
        func read(after cursor: AuditCursor?) -> Task<[AuditRecord], any Error> {
            Task { try await store.auditRecords(after: cursor, limit: size, paths: paths) }
        }
        var next = read(after: nil)
        // A batch that fails stops the walk; the read already under way is not wanted then.
        defer { next.cancel() }
        while true {
            let records = try await next.value
            if records.count == size, let last = records.last?.device {
                next = read(after: AuditCursor(hostname: last.hostname, fingerprint: last.fingerprint))
            }
            let batch = try records.parallelMap { try $0.subject(paths: paths) }
            try await store.apply(try await body(batch))
            guard records.count == size else { return }
        }
    }

    /// One device: every check's verdict applied to its issues.
    func audit(_ subject: AuditSubject, _ options: Options) -> (DeviceAudit, [IssueChange]) {
        var changes: [IssueChange] = []
        var entries: [AuditEntry] = []
        var notApplicable: [String] = []
        let lastDataAt = subject.device.lastSubmissionAt
        for issue in subject.issues where issue.held && !issue.stillHeld(lastDataAt: lastDataAt) {
            changes.append(.releaseHold(id: issue.id!))
        }
        // Gone from issues.yml, or now a check of the server itself: no device's issue stands under it.
        for issue in subject.issues where issue.isOpen && !catalog.deviceChecks.contains(where: { $0.name == issue.name }) {
            changes.append(.close(id: issue.id!, at: options.now, reason: .checkRemoved))
        }
        for check in catalog.deviceChecks {
            let mine = subject.issues.filter { $0.name == check.name }
            // A check for some groups only: a device that left them has no issue under it; one whose
            // membership cannot be told this time keeps its issue as it is.
            if let groups = check.groups, case let member = membership.verdict(subject, inAnyOf: groups), member != .holds {
                if member == .clear, let open = mine.first(where: \.isOpen) {
                    changes.append(.close(id: open.id!, at: options.now, reason: .notInGroup))
                }
                notApplicable.append(check.name)
                continue
            }
            if let exception = exceptions.exception(check.name, of: subject.device.fingerprint) {
                if let open = mine.first(where: \.isOpen) { changes.append(.close(id: open.id!, at: options.now, reason: .excepted)) }
                entries.append(Self.excepted(check, by: exception))
                continue
            }
            let step = lifecycle(
                check, subject, open: mine.first(where: \.isOpen),
                heldClosed: mine.contains { !$0.isOpen && $0.stillHeld(lastDataAt: lastDataAt) },
                options)
            changes += step.changes
            if let entry = step.entry { entries.append(entry) }
        }
        let audit = DeviceAudit(
            device: subject.device, userEmail: subject.facts.userEmail, entries: entries, notApplicable: notApplicable)
        return (audit, changes)
    }

    private func lifecycle(
        _ check: Check, _ subject: AuditSubject, open: IssueRecord?, heldClosed: Bool,
        _ options: Options
    ) -> (changes: [IssueChange], entry: AuditEntry?) {
        let now = options.now
        let evaluation = evaluator.evaluate(check, on: subject, now: now)
        let manualOpen = open?.stillHeld(lastDataAt: subject.device.lastSubmissionAt) ?? false
        guard var issue = open else {
            switch evaluation.verdict {
            case .holds where !heldClosed:
                var issue = IssueRecord(
                    fingerprint: subject.device.fingerprint, name: check.name,
                    openedAt: min(evaluation.since, now), detail: evaluation.detail)
                let entry = self.entry(check, issue, subject.device, now)
                if options.markAlerted && entry.status == .due { issue.alertedAt = now }
                return ([.open(issue)], entry)
            case .unknown:
                return (
                    [],
                    AuditEntry(
                        check: check.name, description: check.description, remediation: check.remediation,
                        status: .unknown, detail: evaluation.detail)
                )
            default:
                return ([], nil)
            }
        }
        if evaluation.verdict == .clear && !manualOpen {
            return ([.close(id: issue.id!, at: now, reason: .resolved)], nil)
        }
        var changes: [IssueChange] = []
        if evaluation.verdict == .holds && evaluation.detail != issue.detail {
            issue.detail = evaluation.detail
            changes.append(.updateDetail(id: issue.id!, detail: evaluation.detail))
        }
        let entry = self.entry(check, issue, subject.device, now)
        if options.markAlerted && entry.status == .due { changes.append(.markAlerted(id: issue.id!, at: now)) }
        return (changes, entry)
    }

    /// What a report shows (with --full) for a check excepted on a device.
    static func excepted(_ check: Check, by exception: CheckException) -> AuditEntry {
        AuditEntry(
            check: check.name, description: check.description, remediation: check.remediation, status: .excepted,
            detail: "excepted until \(RFC3339.string(from: exception.until)) by \(exception.createdBy): \(exception.reason)")
    }

    private func entry(_ check: Check, _ issue: IssueRecord, _ device: Device, _ now: Date) -> AuditEntry {
        // An admin who opens an issue by hand wants it seen now, not after the check's grace.
        let graceEnds = issue.openedBy == .admin ? issue.openedAt : clock.end(of: check.grace, from: issue.openedAt)
        let status: AuditStatus
        if device.isSuspended {
            status = .suspended
        } else if issue.isSnoozed(at: now) {
            status = .snoozed
        } else if now < graceEnds {
            status = .grace
        } else if let alerted = issue.alertedAt, now < alerted.addingTimeInterval(check.alertEvery) {
            status = .alerted
        } else {
            status = .due
        }
        return AuditEntry(
            check: check.name, description: check.description, remediation: check.remediation,
            status: status, openedAt: issue.openedAt, graceEndsAt: graceEnds,
            alertedAt: issue.alertedAt, snoozedUntil: issue.snoozedUntil, detail: issue.detail)
    }
}
