import Foundation
import RookeryCore

/// `bin/issues audit` from start to end: check the server's own certificates, run the engine over
/// the fleet, write the report as devices come, then mail owners and post webhooks. An empty
/// report writes nothing at all, so cron (which mails only output) stays quiet when there is
/// nothing to say.
public struct IssuesAudit {
    public struct Options: Sendable {
        /// Show only alerts due now and mark them alerted; post webhooks for them.
        public var cron = false
        /// Show everything: grace periods, snoozes, suspended hosts, checks that cannot tell.
        public var full = false
        public var json = false
        /// Mail each device's owner (user_email) about their device's issues.
        public var email = false
        public var now = Date()

        public init(cron: Bool = false, full: Bool = false, json: Bool = false, email: Bool = false, now: Date = Date()) {
            self.cron = cron
            self.full = full
            self.json = json
            self.email = email
            self.now = now
        }
    }

    public struct Outcome: Sendable {
        public var summary: AuditEngine.Summary
        public var mails: Int
        public var webhooks: Int
        /// Mails and webhooks that could not be delivered.
        public var failures: [String]
    }

    let context: AdminContext
    let catalog: CheckCatalog

    public init(context: AdminContext, catalog: CheckCatalog? = nil) throws {
        self.context = context
        self.catalog = try catalog ?? CheckCatalog.load(path: context.root.resolve(context.settings.audit.issuesFile))
    }

    public func run(_ options: Options, write: (String) -> Void) async throws -> Outcome {
        let settings = context.settings.audit
        let clock = GraceClock(calendar: try settings.businessHours.map(BusinessCalendar.init(settings:)))
        let notifier = AuditNotifier(
            settings: settings, catalog: catalog, mailOwners: options.email,
            postWebhooks: options.cron)
        try notifier.checkReady()
        // Server checks alone would still close every device's issue as check-removed.
        guard !catalog.deviceChecks.isEmpty else {
            throw SettingsError(
                "\(settings.issuesFile) defines no checks of devices; the audit would close every open issue. "
                    + "Restore it (server/issues.yml in the Rookery sources has the defaults)")
        }
        // One audit at a time: two (cron's and an admin's) would both alert the same issues.
        // The file lock covers this host; the store's lock every host sharing its database.
        let lock = try FileLock(path: context.root.serverState + "/audit.lock")
        defer { lock.release() }
        let hold = try await context.store.holdAuditLock()
        do {
            let outcome = try await audit(options, notifier: notifier, clock: clock, write: write)
            await hold.release()
            return outcome
        } catch {
            await hold.release()
            throw error
        }
    }

    private func audit(
        _ options: Options, notifier: AuditNotifier, clock: GraceClock, write: (String) -> Void
    ) async throws -> Outcome {
        let started = Date()
        let membership = try await GroupMembership.load(from: context.store)
        try Self.checkGroupsExist(catalog, membership, file: context.settings.audit.issuesFile)
        // Checks on paths selected as secret are reported as not evaluable.
        let engine = AuditEngine(
            catalog: catalog, store: context.store, clock: clock,
            secretSelectors: try await context.store.secretSelectors(),
            exceptions: ActiveExceptions(try await context.store.exceptions(fingerprint: nil, runningAt: options.now), at: options.now),
            membership: membership)
        let shown: AuditScope = options.full ? .full : options.cron ? .due : .active
        var written = 0
        func emit(_ text: String, _ json: JSONValue) {
            write(
                options.json
                    ? (written == 0 ? "[" : ",") + json.serializedString + "\n"
                    : (written == 0 ? "" : "\n") + text)
            written += 1
        }
        // The server's own findings first: once per audit, apart from the per-device pass.
        let server = try ServerAudit(context: context, catalog: catalog)
            .run(now: options.now, markAlerted: options.cron).filter { shown.shows($0.status) }
        if !server.isEmpty { emit(AuditReport.serverText(server), AuditReport.serverJSON(server)) }
        notifier.collectServer(server)
        var compliance = ComplianceCounter(checks: catalog.deviceChecks.map(\.name))
        let summary = try await engine.run(.init(now: options.now, markAlerted: options.cron)) { audit in
            compliance.count(audit)
            let entries = audit.entries(in: shown)
            if !entries.isEmpty { emit(AuditReport.text(audit, entries), AuditReport.json(audit, entries)) }
            notifier.collect(audit, audit.entries(in: options.cron ? .due : .active))
        }
        if options.json { write(written == 0 ? "[]\n" : "]\n") }
        var failures = notifier.send(now: options.now)
        // The run and its tallies feed the dashboard's charts, `bin/issues trend` and /metrics.
        // Recorded after the alerts went out: the issues are written already, and a history that
        // cannot be written must not keep the alerts marked as sent from being sent.
        let run = AuditRun(
            startedAt: options.now, finishedAt: options.now.addingTimeInterval(Date().timeIntervalSince(started)),
            devices: summary.devices, opened: summary.opened, closed: summary.closed)
        do {
            try await context.store.recordAudit(run, tallies: compliance.tallies)
        } catch {
            failures.append("the compliance history was not recorded: \(error)")
        }
        return Outcome(summary: summary, mails: notifier.mailCount, webhooks: notifier.webhookCount, failures: failures)
    }

    /// A check for a group that does not exist would apply to no device and close its issues
    /// everywhere: the audit stops instead, and cron mails why.
    static func checkGroupsExist(_ catalog: CheckCatalog, _ membership: GroupMembership, file: String) throws {
        for check in catalog.deviceChecks {
            for group in check.groups ?? [] where !membership.exists(group) {
                throw SettingsError(
                    "\(file): check \(check.name) applies to group \(group), which does not exist; "
                        + "create it (bin/groups create \(group)) or change the check")
            }
        }
    }
}
