import Foundation
import RookeryCore
import RookeryServer

/// How `bin/secret_keeping` prints what it did and what it knows.
enum SecretKeepingFormatter {
    static func enabled(_ enabled: SecretKeepingAdmin.Enabled) -> String {
        let record = enabled.record
        guard !enabled.shareFiles.isEmpty else {
            return "secret keeping enabled with the existing key \(record.fingerprint) (\(record.threshold) of \(record.shares) shares)"
        }
        var lines = [
            "secret keeping enabled: key \(record.fingerprint), any \(record.threshold) of \(record.shares) shares rebuild it",
            "share files and their SHA-256 (give one file to each keeper, who notes its checksum; then delete them here):"
        ]
        lines += enabled.shareFiles.enumerated().map { index, file in
            "  \(file)  \(record.shareChecksums[index + 1] ?? "")"
        }
        if enabled.reencrypted > 0 || enabled.unreadable > 0 {
            lines.append("re-encrypted \(enabled.reencrypted) stored values under the new key")
        }
        if enabled.unreadable > 0 {
            lines.append("warning: \(enabled.unreadable) stored values decrypted with neither key and stay as they were (see `show`)")
        }
        return lines.joined(separator: "\n")
    }

    static func text(_ status: SecretKeepingAdmin.Status) -> String {
        var lines: [String] = []
        if let record = status.record {
            lines.append("secret keeping: \(record.enabled ? "enabled" : "disabled")")
            lines.append("key:            \(record.fingerprint) (made \(RFC3339.string(from: record.createdAt)))")
            lines.append("shares:         any \(record.threshold) of \(record.shares)")
        } else {
            lines.append("secret keeping: not set up (no key)")
        }
        lines.append("selected:       " + (status.selectors.isEmpty ? "-" : status.selectors.map(\.description).joined(separator: ", ")))
        lines.append("stored values:  \(status.encrypted) encrypted, \(status.withheld) withheld (never sent in clear)")
        lines.append("access log:")
        lines += status.log.isEmpty ? ["  (empty)"] : status.log.map { "  " + logLine($0) }
        return lines.joined(separator: "\n")
    }

    static func logLine(_ entry: SecretAccessEntry) -> String {
        let who = LogText.escaped(entry.user) + (entry.sudoUser.map { " (sudo from \(LogText.escaped($0)))" } ?? "")
        // Reading and rewriting with no host or path named covers them all.
        let none = ["access", "decrypt", "encrypt"].contains(entry.action) ? "all" : "-"
        return [
            RFC3339.string(from: entry.at), entry.action, who,
            "hosts: " + (entry.hosts.isEmpty ? none : LogText.escaped(entry.hosts.joined(separator: ","))),
            "paths: " + (entry.selectors.isEmpty ? none : entry.selectors.joined(separator: ",")),
            LogText.escaped(entry.outcome)
        ].joined(separator: "  ")
    }

    static func json(_ status: SecretKeepingAdmin.Status) -> String {
        var object: [String: JSONValue] = [
            "enabled": .bool(status.record?.enabled ?? false),
            "selectors": .array(status.selectors.map { .string($0.description) }),
            "encrypted_values": .integer(Int64(status.encrypted)),
            "withheld_values": .integer(Int64(status.withheld)),
            "access_log": .array(
                status.log.map { entry in
                    .object([
                        "at": .string(RFC3339.string(from: entry.at)), "action": .string(entry.action),
                        "user": .string(entry.user), "sudo_user": entry.sudoUser.map(JSONValue.string) ?? .null,
                        "hosts": .array(entry.hosts.map(JSONValue.string)),
                        "selectors": .array(entry.selectors.map(JSONValue.string)), "outcome": .string(entry.outcome)
                    ])
                })
        ]
        if let record = status.record {
            object["fingerprint"] = .string(record.fingerprint)
            object["shares"] = .integer(Int64(record.shares))
            object["threshold"] = .integer(Int64(record.threshold))
            object["created_at"] = .string(RFC3339.string(from: record.createdAt))
        }
        return JSONValue.object(object).serializedString
    }

    static func table(_ values: [RevealedValue]) -> String {
        guard !values.isEmpty else { return "no secret values stored for these devices and paths" }
        return TextTable.render(
            [["HOST", "PATH", "VALUE"]]
                + values.map { value in
                    [value.host, value.path, value.value?.serializedString ?? "(\(value.problem ?? "unreadable"))"]
                })
    }

    static func json(_ values: [RevealedValue]) -> String {
        JSONValue.array(
            values.map { value in
                var object: [String: JSONValue] = [
                    "host": .string(value.host), "fingerprint": .string(value.fingerprint), "path": .string(value.path),
                    "value": value.value ?? .null
                ]
                if let problem = value.problem { object["problem"] = .string(problem) }
                return .object(object)
            }
        ).serializedString
    }
}
