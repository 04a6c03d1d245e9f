import Foundation

/// Counts an audit's verdicts per device check as the devices come (`IssuesAudit`): a device
/// passes a check it has no entry for, fails one it has an entry for (in its grace period,
/// snoozed or suspended too: it still fails), and is unknown where the check could not tell. A
/// check for some groups only counts the devices in them.
struct ComplianceCounter {
    let checks: [String]
    private var devices = 0
    private var failed: [String: Int] = [:]
    private var unknown: [String: Int] = [:]
    private var notApplicable: [String: Int] = [:]
    private var failing = 0
    private var undecided = 0

    init(checks: [String]) { self.checks = checks }

    mutating func count(_ audit: DeviceAudit) {
        devices += 1
        for check in audit.notApplicable { notApplicable[check, default: 0] += 1 }
        let entries = audit.entries.filter { checks.contains($0.check) && $0.status != .excepted }
        for entry in entries {
            if entry.status == .unknown { unknown[entry.check, default: 0] += 1 } else { failed[entry.check, default: 0] += 1 }
        }
        if entries.contains(where: { $0.status != .unknown }) {
            failing += 1
        } else if !entries.isEmpty {
            undecided += 1
        }
    }

    /// One tally per check, and the fleet's under `ComplianceTally.everyCheck`.
    var tallies: [ComplianceTally] {
        let perCheck = checks.map { check in
            let (bad, unsure, outside) = (failed[check] ?? 0, unknown[check] ?? 0, notApplicable[check] ?? 0)
            return ComplianceTally(check: check, passed: devices - outside - bad - unsure, failed: bad, unknown: unsure)
        }
        return perCheck + [
            ComplianceTally(check: ComplianceTally.everyCheck, passed: devices - failing - undecided, failed: failing, unknown: undecided)
        ]
    }
}
