import Foundation
import RookeryCore
import RookeryServer

/// How `bin/issues list`, `history` and `check --dry-run` print: tables for people, JSON for scripts.
enum IssueFormatter {
    static func table(_ found: [(device: Device, issue: IssueRecord)], now: Date) -> String {
        guard !found.isEmpty else { return "no open issues" }
        let rows =
            [["HOSTNAME", "ISSUE", "OPEN SINCE", "STATE", "DETAIL"]]
            + found.map { device, issue in
                [device.hostname, issue.name, AuditReport.humanTime(issue.openedAt), state(issue, device, now), issue.detail]
            }
        return TextTable.render(rows)
    }

    static func history(_ device: Device, _ issues: [IssueRecord]) -> String {
        guard !issues.isEmpty else { return "\(device.hostname) has had no issues" }
        let rows =
            [["ISSUE", "OPENED", "BY", "CLOSED", "WHY"]]
            + issues.map { issue in
                [
                    issue.name, AuditReport.humanTime(issue.openedAt), issue.openedBy.rawValue,
                    issue.closedAt.map(AuditReport.humanTime) ?? "open", issue.closeReason?.rawValue ?? ""
                ]
            }
        return "\(device.hostname)  \(device.fingerprint)\n" + TextTable.render(rows)
    }

    static func dryRun(_ found: [(device: Device, evaluation: Evaluation)], check: String) -> String {
        let failing = found.filter { $0.evaluation.verdict == .holds }
        let unknown = found.filter { $0.evaluation.verdict == .unknown }
        var out =
            "\(check): \(failing.count) device\(failing.count == 1 ? "" : "s") would fail, "
            + "\(unknown.count) cannot be judged (nothing was changed)"
        if !found.isEmpty {
            out +=
                "\n"
                + TextTable.render(
                    [["HOSTNAME", "VERDICT", "DETAIL"]]
                        + (failing + unknown).map {
                            [$0.device.hostname, $0.evaluation.verdict == .holds ? "fail" : "unknown", $0.evaluation.detail]
                        })
        }
        return out
    }

    static func json(_ found: [(device: Device, issue: IssueRecord)]) -> String {
        JSONValue.array(
            found.map { device, issue in
                .object([
                    "hostname": .string(device.hostname), "fingerprint": .string(device.fingerprint),
                    "name": .string(issue.name), "opened_at": time(issue.openedAt), "opened_by": .string(issue.openedBy.rawValue),
                    "closed_at": issue.closedAt.map(time) ?? .null,
                    "close_reason": issue.closeReason.map { .string($0.rawValue) } ?? .null,
                    "alerted_at": issue.alertedAt.map(time) ?? .null, "snoozed_until": issue.snoozedUntil.map(time) ?? .null,
                    "suspended": .bool(device.isSuspended), "detail": .string(issue.detail)
                ])
            }
        ).serializedString
    }

    static func json(_ found: [(device: Device, evaluation: Evaluation)]) -> String {
        JSONValue.array(
            found.map { device, evaluation in
                .object([
                    "hostname": .string(device.hostname), "fingerprint": .string(device.fingerprint),
                    "verdict": .string(evaluation.verdict == .holds ? "fail" : "unknown"),
                    "since": time(evaluation.since), "detail": .string(evaluation.detail)
                ])
            }
        ).serializedString
    }

    static func exceptions(_ found: [(device: Device, exception: CheckException)], now: Date) -> String {
        guard !found.isEmpty else { return "no exceptions" }
        let rows =
            [["HOSTNAME", "CHECK", "UNTIL", "BY", "SINCE", "REASON"]]
            + found.map { device, exception in
                [
                    device.hostname, exception.check,
                    AuditReport.humanTime(exception.until) + (exception.isActive(at: now) ? "" : " (ended)"),
                    exception.createdBy, AuditReport.humanTime(exception.createdAt), exception.reason
                ]
            }
        return TextTable.render(rows)
    }

    static func json(_ found: [(device: Device, exception: CheckException)]) -> String {
        JSONValue.array(
            found.map { device, exception in
                .object([
                    "hostname": .string(device.hostname), "fingerprint": .string(device.fingerprint),
                    "check": .string(exception.check), "reason": .string(exception.reason),
                    "created_by": .string(exception.createdBy), "created_at": time(exception.createdAt),
                    "until": time(exception.until)
                ])
            }
        ).serializedString
    }

    /// A row per day, with a bar of 30: `#` failed, `?` unknown, `.` passed.
    static func trend(_ days: [ComplianceDay], check: String?, days count: Int) -> String {
        guard !days.isEmpty else {
            return "no audit recorded \(check ?? "compliance") in the last \(count) days (bin/issues audit records it)"
        }
        let rows = days.map { day -> [String] in
            let total = max(1, day.passed + day.failed + day.unknown)
            let failed = Int((Double(day.failed) / Double(total) * 30).rounded())
            let unknown = min(30 - failed, Int((Double(day.unknown) / Double(total) * 30).rounded()))
            let bar =
                String(repeating: "#", count: failed) + String(repeating: "?", count: unknown)
                + String(repeating: ".", count: 30 - failed - unknown)
            return [
                day.day, String(day.passed), String(day.failed), String(day.unknown), String(format: "%.1f%%", 100 * Double(day.passed) / Double(total)), bar
            ]
        }
        return TextTable.render([["DAY", "PASSED", "FAILED", "UNKNOWN", "PASSED%", ""]] + rows)
    }

    static func json(_ days: [ComplianceDay]) -> String {
        JSONValue.array(
            days.map {
                .object([
                    "day": .string($0.day), "passed": .integer(Int64($0.passed)), "failed": .integer(Int64($0.failed)),
                    "unknown": .integer(Int64($0.unknown))
                ])
            }
        ).serializedString
    }

    private static func state(_ issue: IssueRecord, _ device: Device, _ now: Date) -> String {
        if device.isSuspended { return "host suspended" }
        if let until = issue.snoozedUntil, until > now { return "snoozed until " + AuditReport.humanTime(until) }
        if issue.openedBy == .admin { return "opened by admin" }
        return issue.alertedAt.map { "alerted " + AuditReport.humanTime($0) } ?? "not alerted yet"
    }

    private static func time(_ date: Date) -> JSONValue { .string(RFC3339.string(from: date)) }
}
