import Foundation
import RookeryCore

/// The audit's checks of the server itself (its certificates), run once per audit, before and
/// apart from the devices. Their findings belong to no device, so they have no issue rows: they
/// are found afresh at every audit, and only when each was last alerted is kept (ServerAlertLog).
struct ServerAudit {
    let catalog: CheckCatalog
    let settings: ServerSettings
    let root: InstallRoot

    init(context: AdminContext, catalog: CheckCatalog) {
        self.catalog = catalog
        settings = context.settings
        root = context.root
    }

    /// Every finding as a report entry, due or alerted. With `markAlerted` (cron) the due ones are
    /// recorded as alerted now and findings that are gone are forgotten; the caller holds the
    /// audit lock, so two audits never both alert one finding.
    func run(now: Date, markAlerted: Bool) throws -> [AuditEntry] {
        let findings = self.findings(now: now)
        let log = ServerAlertLog(path: root.serverState + "/server-alerts.json")
        let alerted = log.load()
        let entries = findings.map { entry($0, alertedAt: alerted[$0.key], now: now) }
        if markAlerted {
            var kept: [String: Date] = [:]
            for (finding, entry) in zip(findings, entries) {
                kept[finding.key] = entry.status == .due ? now : entry.alertedAt
            }
            if kept != alerted { try log.save(kept) }
        }
        return entries
    }

    private func findings(now: Date) -> [ServerFinding] {
        let files = ConfiguredCertificate.all(in: settings, root: root)
        return catalog.serverChecks.flatMap { check -> [ServerFinding] in
            switch check.kind {
            case .expiringCertificate(let after): ExpiringCertificateCheck(check: check, after: after).findings(files, now: now)
            default: []
            }
        }
    }

    private func entry(_ finding: ServerFinding, alertedAt: Date?, now: Date) -> AuditEntry {
        let check = finding.check
        let due = alertedAt.map { now >= $0.addingTimeInterval(check.alertEvery) } ?? true
        return AuditEntry(
            check: check.name, description: check.description, remediation: check.remediation,
            status: due ? .due : .alerted, alertedAt: alertedAt, detail: finding.detail)
    }
}

/// One thing a check of the server found.
struct ServerFinding: Sendable {
    var check: Check
    /// Names the finding in the alert state: the check, the file and what was found there.
    var key: String
    var detail: String
}
