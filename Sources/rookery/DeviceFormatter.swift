import Foundation
import RookeryCore
import RookeryServer

/// How `bin/clients` prints devices: an aligned table for people, JSON for scripts. Document and
/// history values go through `SecretRedaction`: a secret prints as `[secret]`, in text and JSON.
enum DeviceFormatter {
    static func table(_ devices: [Device]) -> String {
        guard !devices.isEmpty else { return "no devices" }
        let rows =
            [["HOSTNAME", "STATE", "LAST SUBMISSION", "FINGERPRINT"]]
            + devices.map {
                [
                    $0.hostname, $0.state.rawValue, $0.lastSubmissionAt.map(RFC3339.string(from:)) ?? "never",
                    $0.fingerprint + ($0.flags.isEmpty ? "" : "  (!)")
                ]
            }
        return TextTable.render(rows)
    }

    static func details(
        _ device: Device, document: JSONValue?, history: [ChangeRecord], renames: [DeviceRename],
        shells: [ShellSessionRecord] = [], now: Date = Date()
    ) -> String {
        var lines = [
            "hostname:         \(device.hostname)",
            "fingerprint:      \(device.fingerprint)",
            "state:            \(device.state.rawValue)",
            "machine id:       \(device.machineID)",
            "enrolled:         \(RFC3339.string(from: device.enrolledAt))",
            "accepted:         \(device.acceptedAt.map(RFC3339.string(from:)) ?? "-")",
            "last submission:  \(device.lastSubmissionAt.map(RFC3339.string(from:)) ?? "never")",
            "client release:   \(device.clientRelease.map(String.init) ?? "not reported yet")"
        ]
        lines += device.flags.map { "note:             \($0)" }
        lines += renames.map {
            "renamed:          \(RFC3339.string(from: $0.renamedAt)) \($0.oldHostname) -> \($0.newHostname)"
        }
        if let document {
            lines.append("document:")
            for (path, value) in DocumentDiff.flatten(document).sorted(by: { $0.key < $1.key }) {
                lines.append("  \(path) = \(SecretRedaction.text(value))")
            }
        }
        if !history.isEmpty {
            lines.append("recent changes:")
            for change in history {
                lines.append(
                    "  \(RFC3339.string(from: change.changedAt)) \(change.path): "
                        + "\(change.old.map(SecretRedaction.text) ?? "(none)") -> \(change.new.map(SecretRedaction.text) ?? "(none)")")
            }
        }
        if !shells.isEmpty {
            lines.append("shell sessions (newest first):")
            lines += shells.map { "  " + ShellSessionFormatter.line($0, now: now) }
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ devices: [Device]) -> String {
        JSONValue.array(devices.map(deviceJSON)).serializedString
    }

    static func json(
        _ device: Device, document: JSONValue?, history: [ChangeRecord], renames: [DeviceRename],
        shells: [ShellSessionRecord] = [], now: Date = Date()
    ) -> String {
        var object = deviceJSON(device).objectValue ?? [:]
        object["renames"] = .array(
            renames.map { rename in
                .object([
                    "old_hostname": .string(rename.oldHostname), "new_hostname": .string(rename.newHostname),
                    "renamed_at": .string(RFC3339.string(from: rename.renamedAt))
                ])
            })
        object["document"] = document.map(SecretRedaction.redacted) ?? .null
        object["history"] = .array(
            history.map { change in
                .object([
                    "path": .string(change.path), "old": change.old.map(SecretRedaction.redacted) ?? .null,
                    "new": change.new.map(SecretRedaction.redacted) ?? .null,
                    "changed_at": .string(RFC3339.string(from: change.changedAt))
                ])
            })
        object["shell_sessions"] = .array(shells.map { ShellSessionFormatter.json($0, now: now) })
        return JSONValue.object(object).serializedString
    }

    private static func deviceJSON(_ device: Device) -> JSONValue {
        func time(_ date: Date?) -> JSONValue { date.map { .string(RFC3339.string(from: $0)) } ?? .null }
        return .object([
            "hostname": .string(device.hostname), "fingerprint": .string(device.fingerprint),
            "state": .string(device.state.rawValue), "machine_id": .string(device.machineID),
            "enrolled_at": time(device.enrolledAt), "accepted_at": time(device.acceptedAt),
            "last_submission_at": time(device.lastSubmissionAt),
            "flags": .array(device.flags.map(JSONValue.string)),
            "client_release": device.clientRelease.map { .integer(Int64($0)) } ?? .null
        ])
    }
}
