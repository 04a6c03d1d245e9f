import Foundation
import RookeryCore

/// What `bin/issues` does besides the audit itself: snoozes, suspensions, manual opens and
/// closes, listings. Every host and check name is checked before anything changes.
public struct IssueAdmin: Sendable {
    let store: any Store
    let devices: DeviceAdmin
    public let catalog: CheckCatalog

    /// `catalog`: the checks of server/issues.yml (`CheckCatalog.load`).
    public init(store: any Store, catalog: CheckCatalog) {
        self.store = store
        devices = DeviceAdmin(store: store)
        self.catalog = catalog
    }

    /// A check name from issues.yml, or an error that lists the names there are.
    public func checkName(_ name: String) throws -> String {
        guard catalog.check(named: name) != nil else {
            throw AdminError(
                .notFound,
                "no check named \(name) in issues.yml; checks: "
                    + catalog.checks.map(\.name).joined(separator: ", "))
        }
        return name
    }

    /// A check name whose issues are devices': checks of the server itself (expiring-certificate)
    /// have none to open, close or snooze.
    func deviceCheckName(_ name: String) throws -> String {
        let name = try checkName(name)
        if catalog.check(named: name)!.isServerCheck { throw Self.serverCheckError(name) }
        return name
    }

    private static func serverCheckError(_ name: String) -> AdminError {
        AdminError(.input, "\(name) checks the server itself, not devices: it has no issues; bin/issues audit reports what it finds")
    }

    public func resolve(_ host: String) async throws -> Device { try await devices.resolve(host) }

    private func fingerprint(of host: String?) async throws -> String? {
        guard let host else { return nil }
        return try await resolve(host).fingerprint
    }

    /// Snoozes open issues until `until`; at least one of host, group and name unless `all`.
    /// Returns how many it snoozed.
    public func snooze(until: Date, host: String?, group: String? = nil, name: String?, all: Bool) async throws -> Int {
        let (fingerprints, name) = try await selection(host: host, group: group, name: name, all: all)
        var count = 0
        for fingerprint in fingerprints { count += try await store.snooze(until: until, fingerprint: fingerprint, name: name) }
        return count
    }

    /// Ends the snoozes still running among the issues chosen as for `snooze`; returns how many it
    /// ended, so an admin is not told of snoozes that were never there.
    public func unsnooze(host: String?, group: String? = nil, name: String?, all: Bool, now: Date = Date()) async throws -> Int {
        let (fingerprints, name) = try await selection(host: host, group: group, name: name, all: all)
        var count = 0
        for fingerprint in fingerprints { count += try await store.unsnooze(fingerprint: fingerprint, name: name, now: now) }
        return count
    }

    /// The store filters for `--host`, `--group`, `--issue-name` and `--all`, checked before
    /// anything changes: the devices chosen (a nil one: every device), and the check.
    private func selection(host: String?, group: String?, name: String?, all: Bool) async throws -> (
        fingerprints: [String?], name: String?
    ) {
        guard all || host != nil || group != nil || name != nil else {
            throw AdminError(.input, "say which issues: --host, --group, --issue-name, or --all")
        }
        let name = try name.map(deviceCheckName)
        guard host != nil || group != nil else { return ([nil], name) }
        let chosen = try await GroupAdmin(store: store).targets(hosts: host.map { [$0] } ?? [], groups: group.map { [$0] } ?? [])
        return (chosen.map(\.fingerprint), name)
    }

    /// Suspends every host in `hosts` and member of `groups`, or (when one is unknown) none of them.
    public func suspend(_ hosts: [String], groups: [String] = [], now: Date = Date()) async throws -> [Device] {
        let devices = try await resolveAll(hosts, groups: groups, unchanged: "suspended")
        for device in devices { try await store.suspend(fingerprint: device.fingerprint, at: now) }
        return devices
    }

    /// Unsuspends every host in `hosts` and member of `groups`, or (when one is unknown) none of them.
    public func unsuspend(_ hosts: [String], groups: [String] = []) async throws -> [Device] {
        let devices = try await resolveAll(hosts, groups: groups, unchanged: "unsuspended")
        for device in devices { try await store.suspend(fingerprint: device.fingerprint, at: nil) }
        return devices
    }

    /// Every host resolved before any changes: a typo among ten hosts must not leave an admin to
    /// work out which were done. The error says that none was.
    private func resolveAll(_ hosts: [String], groups: [String], unchanged verb: String) async throws -> [Device] {
        guard !hosts.isEmpty || !groups.isEmpty else { throw AdminError(.input, "name at least one HOST or --group") }
        do {
            return try await GroupAdmin(store: store).targets(hosts: hosts, groups: groups)
        } catch let error as AdminError where hosts.count + groups.count > 1 {
            throw AdminError(error.kind, "\(error.description); no device was \(verb), fix or leave out that host and run it again")
        }
    }

    /// Opens an issue by hand; it stays open until the device sends new data, then the audit decides.
    public func open(_ host: String, name: String, now: Date = Date()) async throws -> Device {
        let device = try await resolve(host)
        let name = try deviceCheckName(name)
        if let open = try await store.openIssues(fingerprint: device.fingerprint).first(where: { $0.name == name }) {
            throw AdminError(.conflict, "\(device.hostname) already has \(name) open since \(RFC3339.string(from: open.openedAt))")
        }
        var issue = IssueRecord(
            fingerprint: device.fingerprint, name: name, openedAt: now, openedBy: .admin,
            detail: "opened by an admin")
        issue.held = true
        issue.heldDataAt = device.lastSubmissionAt
        try await store.apply([.open(issue)])
        return device
    }

    /// Closes an open issue by hand; the audit does not reopen it until the device sends new data.
    public func close(_ host: String, name: String, now: Date = Date()) async throws -> Device {
        let device = try await resolve(host)
        let name = try deviceCheckName(name)
        guard let open = try await store.openIssues(fingerprint: device.fingerprint).first(where: { $0.name == name }),
            let id = open.id
        else {
            throw AdminError(.notFound, "\(device.hostname) has no open \(name) issue; see bin/issues list --host \(host)")
        }
        try await store.apply([.close(id: id, at: now, reason: .manual)])
        return device
    }

    /// Open issues of accepted devices, by hostname then check; filters are optional. (A revoked
    /// device's issues stay as they were and come back if it is accepted again.)
    public func list(host: String?, name: String?) async throws -> [(device: Device, issue: IssueRecord)] {
        let fingerprint = try await fingerprint(of: host)
        let name = try name.map(checkName)
        let issues = try await store.openIssues(fingerprint: fingerprint).filter { name == nil || $0.name == name }
        var found: [(device: Device, issue: IssueRecord)] = []
        var cache: [String: Device] = [:]
        for issue in issues {
            if cache[issue.fingerprint] == nil { cache[issue.fingerprint] = try await store.device(fingerprint: issue.fingerprint) }
            if let device = cache[issue.fingerprint], device.state == .accepted { found.append((device, issue)) }
        }
        return found.sorted { ($0.device.hostname, $0.issue.name) < ($1.device.hostname, $1.issue.name) }
    }

    public func history(_ host: String, limit: Int) async throws -> (Device, [IssueRecord]) {
        let device = try await resolve(host)
        return (device, try await store.issueHistory(fingerprint: device.fingerprint, limit: limit))
    }

    /// Accepts device check `name` as not applicable to `host` until `until`, for `reason`; ends
    /// any exception of the two that still runs. The next audit closes the open issue.
    public func except(
        _ host: String, _ name: String, reason: String, until: Date, by who: AdminOperator, now: Date = Date()
    ) async throws -> (Device, CheckException) {
        try await except([try await resolve(host)], name, reason: reason, until: until, by: who, now: now)[0]
    }

    /// `except` for every accepted or pending member of `group`, all or none.
    public func except(
        group: String, _ name: String, reason: String, until: Date, by who: AdminOperator, now: Date = Date()
    ) async throws -> [(Device, CheckException)] {
        let members = try await GroupAdmin(store: store).targets(hosts: [], groups: [group])
        return try await except(members, name, reason: reason, until: until, by: who, now: now)
    }

    private func except(
        _ devices: [Device], _ name: String, reason: String, until: Date, by who: AdminOperator, now: Date
    ) async throws -> [(Device, CheckException)] {
        let check = try deviceCheckName(name)
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty, reason.utf8.count <= CheckException.maxReasonBytes,
            !reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw AdminError(
                .input, "--reason must say why, on one line of at most \(CheckException.maxReasonBytes) bytes")
        }
        guard until > now else { throw AdminError(.input, "--until \(RFC3339.string(from: until)) has passed; give a later date") }
        var made: [(Device, CheckException)] = []
        for device in devices {
            let exception = try await store.addException(
                CheckException(fingerprint: device.fingerprint, check: check, reason: reason, createdBy: who.name, createdAt: now, until: until))
            made.append((device, exception))
        }
        return made
    }

    /// Ends `host`'s running exception of check `name` now: the next audit judges the check again.
    /// The check need not be in issues.yml still (its exception would return with it).
    public func unexcept(_ host: String, _ name: String, now: Date = Date()) async throws -> Device {
        let device = try await resolve(host)
        guard CheckName.isValid(name) else { throw AdminError(.input, "\(name) is not a check name") }
        let check = name
        guard try await store.endExceptions(fingerprint: device.fingerprint, check: check, at: now) > 0 else {
            throw AdminError(.notFound, "\(device.hostname) has no running exception of \(check)")
        }
        return device
    }

    /// Exceptions, of one device or all: those still running, or (`ended`) every one kept.
    public func exceptions(_ host: String?, ended: Bool, now: Date = Date()) async throws -> [(device: Device, exception: CheckException)] {
        let fingerprint = try await self.fingerprint(of: host)
        var found: [(device: Device, exception: CheckException)] = []
        for exception in try await store.exceptions(fingerprint: fingerprint, runningAt: ended ? nil : now) {
            guard let device = try await store.device(fingerprint: exception.fingerprint) else { continue }
            found.append((device, exception))
        }
        return found.sorted { ($0.device.hostname, $0.exception.check) < ($1.device.hostname, $1.exception.check) }
    }

    /// The compliance the audits recorded on each of the last `days` days: of device check
    /// `name`, or of the fleet as a whole (nil). Days without an audit are absent.
    public func trend(_ name: String?, days: Int, now: Date = Date()) async throws -> [ComplianceDay] {
        let check = try name.map(deviceCheckName) ?? ComplianceTally.everyCheck
        return try await store.complianceTrend(check: check, since: ComplianceDay.firstOf(days: days, endingAt: now))
    }

    /// Evaluates `check` against every accepted device now, changing nothing: who would fail,
    /// and who cannot be judged (among them, devices where the check reads a path selected as secret).
    public func dryRun(_ check: Check, now: Date = Date()) async throws -> [(device: Device, evaluation: Evaluation)] {
        guard !check.isServerCheck else { throw Self.serverCheckError(check.name) }
        let membership = try await GroupMembership.load(from: store)
        try IssuesAudit.checkGroupsExist(CheckCatalog(checks: [check]), membership, file: "the check")
        let engine = AuditEngine(catalog: CheckCatalog(checks: [check]), store: store, membership: membership)
        let evaluator = CheckEvaluator(secretSelectors: try await store.secretSelectors())
        var found: [(device: Device, evaluation: Evaluation)] = []
        try await engine.forEachBatch { batch in
            for subject in batch where check.groups.map({ membership.contains(subject, inAnyOf: $0) }) ?? true {
                let evaluation = evaluator.evaluate(check, on: subject, now: now)
                if evaluation.verdict != .clear { found.append((subject.device, evaluation)) }
            }
            return []
        }
        return found
    }
}
