import Foundation
import RookeryCore
import RookeryServer

/// How `bin/groups plan` prints what would change on each device.
enum ManagedPlanFormatter {
    static func text(_ entries: [ManagedStateAdmin.Entry], of total: Int) -> String {
        guard !entries.isEmpty else { return "nothing would change on the \(total) accepted device\(total == 1 ? "" : "s")" }
        return entries.map(text).joined(separator: "\n\n")
    }

    private static func text(_ entry: ManagedStateAdmin.Entry) -> String {
        let diff = entry.diff
        var lines = ["\(entry.device.hostname) (\(entry.device.fingerprint)): \(running(entry))"]
        for key in diff.settings.keys.sorted() {
            let (from, to) = diff.settings[key]!
            lines.append("  setting \(key): \(from ?? "(not set)") -> \(to ?? "(not set)")")
        }
        if !diff.firewall.isEmpty {
            lines.append("  firewall (table inet rookery):")
            lines += diff.firewall.removed.map { "  - \($0.replacingOccurrences(of: "\t", with: "  "))" }
            lines += diff.firewall.added.map { "  + \($0.replacingOccurrences(of: "\t", with: "  "))" }
        }
        for account in diff.authorizedKeys.keys.sorted() {
            let change = diff.authorizedKeys[account]!
            lines.append("  authorized_keys of \(account)\(entry.proposed.authorizedKeys?[account] == nil ? " (no longer managed: emptied)" : ""):")
            lines += change.removed.map { "  - \($0)" } + change.added.map { "  + \($0)" }
        }
        if !entry.changes { lines.append("  no change") }
        return lines.joined(separator: "\n")
    }

    private static func running(_ entry: ManagedStateAdmin.Entry) -> String {
        guard let shipped = entry.shipped else { return "nothing sent yet" }
        if entry.runningSHA256 == shipped.sha256 { return "runs what it was sent" }
        return entry.runningSHA256 == nil ? "has not reported a managed state yet" : "has not yet taken what it was sent"
    }

    static func json(_ entries: [ManagedStateAdmin.Entry]) -> String {
        JSONValue.array(
            entries.map { entry in
                let diff = entry.diff
                return .object([
                    "hostname": .string(entry.device.hostname), "fingerprint": .string(entry.device.fingerprint),
                    "changes": .bool(entry.changes), "device_is_current": .bool(entry.deviceIsCurrent),
                    "sent_sha256": entry.shipped.map { .string($0.sha256) } ?? .null,
                    "proposed_sha256": .string(entry.proposed.sha256),
                    "running_sha256": entry.runningSHA256.map(JSONValue.string) ?? .null,
                    "settings": .object(
                        diff.settings.mapValues { .object(["from": $0.from.map(JSONValue.string) ?? .null, "to": $0.to.map(JSONValue.string) ?? .null]) }),
                    "firewall": lines(diff.firewall),
                    "authorized_keys": .object(diff.authorizedKeys.mapValues(lines))
                ])
            }
        ).serializedString
    }

    private static func lines(_ change: ManagedStateDiff.LineChange) -> JSONValue {
        .object(["removed": .array(change.removed.map(JSONValue.string)), "added": .array(change.added.map(JSONValue.string))])
    }
}
