import Foundation
import RookeryCore

/// How audit findings read: one block per device for people, one object per device for scripts.
/// Devices come in hostname order from the engine, so the report is written as it goes. The
/// server's own findings (its certificates) come first, in a block of their own.
public enum AuditReport {
    public static func text(_ audit: DeviceAudit, _ entries: [AuditEntry]) -> String {
        let device = audit.device
        let heading =
            "\(device.hostname)  \(device.fingerprint)" + (audit.userEmail.map { "  owner \($0)" } ?? "")
            + (device.isSuspended ? "  (suspended until it reports)" : "")
        return block(heading, entries.sorted { $0.check < $1.check })
    }

    /// The server's findings, under the heading `server`, in the order the checks found them.
    public static func serverText(_ entries: [AuditEntry]) -> String { block("server", entries) }

    private static func block(_ heading: String, _ entries: [AuditEntry]) -> String {
        var lines = [heading]
        for entry in entries {
            lines.append("  \(entry.check): \(entry.description)" + statusNote(entry))
            var facts: [String] = []
            if let opened = entry.openedAt { facts.append("since " + humanTime(opened)) }
            if !entry.detail.isEmpty { facts.append(entry.detail) }
            if !facts.isEmpty { lines.append("      " + facts.joined(separator: "; ")) }
            if let fix = entry.remediation, entry.status != .unknown, entry.status != .excepted { lines.append("      fix: " + fix) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func statusNote(_ entry: AuditEntry) -> String {
        switch entry.status {
        case .due: ""
        case .alerted: entry.alertedAt.map { " [alerted \(humanTime($0))]" } ?? ""
        case .grace: entry.graceEndsAt.map { " [in grace until \(humanTime($0))]" } ?? " [in grace]"
        case .snoozed: entry.snoozedUntil.map { " [snoozed until \(humanTime($0))]" } ?? " [snoozed]"
        case .suspended: " [host suspended]"
        case .unknown: " [cannot tell]"
        case .excepted: " [excepted]"
        }
    }

    public static func json(_ audit: DeviceAudit, _ entries: [AuditEntry]) -> JSONValue {
        let device = audit.device
        return .object([
            "hostname": .string(device.hostname),
            "fingerprint": .string(device.fingerprint),
            "user_email": audit.userEmail.map(JSONValue.string) ?? .null,
            "suspended": .bool(device.isSuspended),
            "last_report": device.lastSubmissionAt.map(timeValue) ?? .null,
            "issues": .array(entries.sorted { $0.check < $1.check }.map(json))
        ])
    }

    /// The server's findings as the first element of the report's array.
    public static func serverJSON(_ entries: [AuditEntry]) -> JSONValue {
        .object(["server": .bool(true), "issues": .array(entries.map(json))])
    }

    static func json(_ entry: AuditEntry) -> JSONValue {
        .object([
            "name": .string(entry.check),
            "description": .string(entry.description),
            "status": .string(entry.status.rawValue),
            "opened_at": entry.openedAt.map(timeValue) ?? .null,
            "grace_ends_at": entry.graceEndsAt.map(timeValue) ?? .null,
            "alerted_at": entry.alertedAt.map(timeValue) ?? .null,
            "snoozed_until": entry.snoozedUntil.map(timeValue) ?? .null,
            "detail": .string(entry.detail),
            "remediation": entry.remediation.map(JSONValue.string) ?? .null
        ])
    }

    static func timeValue(_ date: Date) -> JSONValue { .string(RFC3339.string(from: date)) }

    /// `2026-11-30 10:00 UTC`: minutes are enough for people.
    public static func humanTime(_ date: Date) -> String {
        let text = RFC3339.string(from: date)
        return text.prefix(10) + " " + text.dropFirst(11).prefix(5) + " UTC"
    }
}
