import Foundation
import RookeryCore

/// Reads what each dashboard page and API route shows, from the store, the checks of
/// server/issues.yml and the published releases. It does not know which store it reads.
public struct FleetReader: Sendable {
    let store: any Store
    let releases: ReleaseLibrary
    /// server/issues.yml, read again for every page that names checks, so an edit shows at once.
    let issuesFile: String
    /// How many closed issues and changes a device page shows (every open issue is shown).
    static let deviceHistoryLimit = 50

    public init(store: any Store, releases: ReleaseLibrary, issuesFile: String) {
        self.store = store
        self.releases = releases
        self.issuesFile = issuesFile
    }

    /// The checks, when issues.yml can be read; a broken file must not take the pages down.
    private var catalog: CheckCatalog? { try? CheckCatalog.load(path: issuesFile) }

    public func overview(now: Date = Date()) async throws -> OverviewView {
        let counts = try await store.fleetCounts(now: now)
        let trend = try await self.trend(ComplianceTally.everyCheck, days: 30, now: now)
        let catalog = catalog
        return OverviewView(
            generatedAt: RFC3339.string(from: now),
            devicesByState: DeviceState.allCases.map { .init(state: $0.rawValue, devices: counts.devicesByState[$0] ?? 0) },
            reportedWithinHour: counts.reportedWithinHour, reportedWithinDay: counts.reportedWithinDay,
            silent: counts.silent, openIssues: counts.openIssues.reduce(0) { $0 + $1.open },
            checks: counts.openIssues.map {
                .init(
                    check: $0.check, description: catalog?.check(named: $0.check)?.description ?? "",
                    open: $0.open, snoozed: $0.snoozed)
            }, trend: trend)
    }

    /// One check's (or, under `ComplianceTally.everyCheck`, the fleet's) last `days` days.
    public func trend(_ check: String, days: Int, now: Date = Date()) async throws -> [ComplianceDay] {
        try await store.complianceTrend(check: check, since: ComplianceDay.firstOf(days: days, endingAt: now))
    }

    public func devices(_ query: DeviceListQuery) async throws -> DeviceListView {
        let page = try await store.devicePage(query)
        return DeviceListView(
            devices: page.rows.map {
                DeviceRowView(
                    fingerprint: $0.fingerprint, hostname: $0.hostname, state: $0.state.rawValue,
                    enrolledAt: RFC3339.string(from: $0.enrolledAt), lastReport: $0.lastSubmissionAt.map(RFC3339.string),
                    clientRelease: $0.clientRelease, openIssues: $0.openIssues, flagged: $0.flagged)
            },
            total: page.total, page: query.page.number, perPage: query.page.size,
            pages: Self.pages(page.total, query.page.size), sort: query.sort.rawValue,
            order: query.descending ? "desc" : "asc", state: query.state?.rawValue)
    }

    /// Nil when no device has this fingerprint.
    public func device(fingerprint: String, now: Date = Date()) async throws -> DeviceView? {
        guard let device = try await store.device(fingerprint: fingerprint) else { return nil }
        let exceptions = try await store.exceptions(fingerprint: fingerprint, runningAt: now)
        // Every open issue; of the closed ones, the newest.
        let open = try await store.openIssues(fingerprint: fingerprint)
        let closed = try await store.issueHistory(fingerprint: fingerprint, limit: Self.deviceHistoryLimit + open.count)
            .filter { !$0.isOpen }.prefix(Self.deviceHistoryLimit)
        let document = try await store.latestDocument(fingerprint: fingerprint)
        let changes = try await store.history(fingerprint: fingerprint, limit: Self.deviceHistoryLimit)
        let patches = try await store.patches(fingerprint: fingerprint, includeFinished: false)
        return DeviceView(
            fingerprint: device.fingerprint, hostname: device.hostname, machineId: device.machineID,
            state: device.state.rawValue, enrolledAt: RFC3339.string(from: device.enrolledAt),
            acceptedAt: device.acceptedAt.map(RFC3339.string), lastReport: device.lastSubmissionAt.map(RFC3339.string),
            clientRelease: device.clientRelease, latestRelease: (try? releases.latest())?.number,
            suspended: device.isSuspended, flags: device.flags,
            openIssues: open.map(Self.issueView), pastIssues: closed.map(Self.issueView),
            exceptions: exceptions.map { Self.exceptionView($0, hostname: device.hostname) },
            facts: document.map(Self.facts) ?? [],
            changes: changes.map(Self.changeView),
            pendingPatches: patches.map {
                PatchView(
                    id: $0.id, target: $0.target, action: $0.action.rawValue, state: $0.state.rawValue,
                    createdAt: RFC3339.string(from: $0.createdAt), message: $0.message)
            })
    }

    /// Nil when the check is neither in issues.yml nor open on any device.
    public func check(_ name: String, query: OpenIssueQuery, now: Date = Date()) async throws -> CheckView? {
        let page = query.page
        let failures = try await store.openIssuePage(OpenIssueQuery(check: name, sort: query.sort, descending: query.descending, page: page))
        let trend = try await self.trend(name, days: 30, now: now)
        var excepted: [ExceptionView] = []
        for exception in try await store.exceptions(fingerprint: nil, runningAt: now) where exception.check == name {
            let hostname = try await store.device(fingerprint: exception.fingerprint)?.hostname ?? ""
            excepted.append(Self.exceptionView(exception, hostname: hostname))
        }
        let check = catalog?.check(named: name)
        guard check != nil || failures.total > 0 || !trend.isEmpty || !excepted.isEmpty else { return nil }
        return CheckView(
            check: name, description: check?.description ?? "", remediation: check?.remediation,
            failing: failures.rows.map(Self.openIssueView),
            excepted: excepted, total: failures.total, page: page.number, perPage: page.size,
            pages: Self.pages(failures.total, page.size), sort: query.sort.rawValue, order: query.descending ? "desc" : "asc",
            trend: trend)
    }

    /// Open issues of one check or every check.
    public func issues(_ query: OpenIssueQuery) async throws -> IssueListView {
        let found = try await store.openIssuePage(query)
        return IssueListView(
            issues: found.rows.map(Self.openIssueView), check: query.check, total: found.total, page: query.page.number,
            perPage: query.page.size, pages: Self.pages(found.total, query.page.size), sort: query.sort.rawValue,
            order: query.descending ? "desc" : "asc")
    }

    /// Every device check of issues.yml (and any check with open issues that is no longer there).
    public func checks(now: Date = Date()) async throws -> ChecksView {
        let counts = Dictionary(
            try await store.fleetCounts(now: now).openIssues.map { ($0.check, $0) }, uniquingKeysWith: { $1 })
        let configured = catalog?.deviceChecks ?? []
        let names = configured.map(\.name) + counts.keys.filter { name in !configured.contains { $0.name == name } }.sorted()
        return ChecksView(
            checks: names.map { name in
                let check = configured.first { $0.name == name }
                return .init(
                    check: name, description: check?.description ?? "", remediation: check?.remediation,
                    open: counts[name]?.open ?? 0, snoozed: counts[name]?.snoozed ?? 0)
            })
    }

    /// A device's last `limit` recorded changes; nil when no device has this fingerprint.
    public func history(fingerprint: String, limit: Int) async throws -> HistoryView? {
        guard let device = try await store.device(fingerprint: fingerprint) else { return nil }
        return HistoryView(
            fingerprint: device.fingerprint, hostname: device.hostname,
            changes: try await store.history(fingerprint: fingerprint, limit: limit).map(Self.changeView))
    }

    /// Pending devices, newest first, a page of them (at most `max_pending_devices` exist).
    public func enrollments(page: PageRequest = PageRequest()) async throws -> EnrollmentsView {
        let all = try await store.devices(in: .pending).sorted { ($0.enrolledAt, $0.fingerprint) > ($1.enrolledAt, $1.fingerprint) }
        let pending = all.dropFirst(page.offset).prefix(page.size)
        return EnrollmentsView(
            total: all.count, page: page.number, perPage: page.size, pages: Self.pages(all.count, page.size),
            pending: pending.map {
                PendingDeviceView(
                    fingerprint: $0.fingerprint, hostname: $0.hostname, machineId: $0.machineID,
                    enrolledAt: RFC3339.string(from: $0.enrolledAt), flags: $0.flags)
            })
    }

    /// Published releases, newest first, with how many accepted devices run each.
    public func releaseList() async throws -> ReleasesView {
        let running = try await store.devicesByRelease()
        return ReleasesView(
            releases: try releases.list().sorted { $0.number > $1.number }.map {
                ReleaseView(
                    number: $0.number, createdAt: $0.createdAt, size: $0.size, sha256: $0.sha256, files: $0.files,
                    devices: running[$0.number] ?? 0)
            })
    }

    static func openIssueView(_ row: OpenIssueRow) -> OpenIssueView {
        OpenIssueView(
            check: row.check, fingerprint: row.fingerprint, hostname: row.hostname, openedAt: RFC3339.string(from: row.openedAt),
            snoozedUntil: row.snoozedUntil.map(RFC3339.string), alertedAt: row.alertedAt.map(RFC3339.string), detail: row.detail)
    }

    static func changeView(_ change: ChangeRecord) -> ChangeView {
        ChangeView(
            path: change.path, old: change.old.map(SecretRedaction.text), new: change.new.map(SecretRedaction.text),
            changedAt: RFC3339.string(from: change.changedAt))
    }

    static func exceptionView(_ exception: CheckException, hostname: String) -> ExceptionView {
        ExceptionView(
            check: exception.check, fingerprint: exception.fingerprint, hostname: hostname, reason: exception.reason,
            createdBy: exception.createdBy, createdAt: RFC3339.string(from: exception.createdAt),
            until: RFC3339.string(from: exception.until))
    }

    static func pages(_ total: Int, _ size: Int) -> Int { max(1, (total + size - 1) / size) }

    static func issueView(_ issue: IssueRecord) -> IssueView {
        IssueView(
            check: issue.name, openedAt: RFC3339.string(from: issue.openedAt), closedAt: issue.closedAt.map(RFC3339.string),
            closeReason: issue.closeReason?.rawValue, snoozedUntil: issue.snoozedUntil.map(RFC3339.string),
            alertedAt: issue.alertedAt.map(RFC3339.string), openedBy: issue.openedBy.rawValue, detail: issue.detail)
    }

    /// The document's `plugins` member, one group per plugin, each value at its dotted path.
    static func facts(_ document: JSONValue) -> [PluginFactsView] {
        guard case .object(let plugins)? = document["plugins"] else { return [] }
        return plugins.keys.sorted().map { plugin in
            var facts: [FactView] = []
            leaves(plugins[plugin]!, at: "", into: &facts)
            return PluginFactsView(plugin: plugin, values: facts)
        }
    }

    private static func leaves(_ value: JSONValue, at path: String, into facts: inout [FactView]) {
        if case .object(let members) = value, !SecretValue.isSecret(value), !members.isEmpty {
            for key in members.keys.sorted() { leaves(members[key]!, at: path.isEmpty ? key : path + "." + key, into: &facts) }
        } else {
            facts.append(FactView(path: path, value: SecretRedaction.text(value)))
        }
    }
}
