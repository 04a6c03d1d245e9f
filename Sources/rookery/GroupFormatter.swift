import Foundation
import RookeryCore
import RookeryServer

/// How `bin/groups` prints groups, members and changes.
enum GroupFormatter {
    static func table(_ groups: [(group: DeviceGroup, members: [Device])]) -> String {
        guard !groups.isEmpty else { return "no groups; create one with bin/groups create NAME" }
        let rows =
            [["GROUP", "KIND", "DEVICES", "CONDITION / DESCRIPTION"]]
            + groups.map { group, members in
                [group.name, kind(group), String(members.count), group.condition ?? group.description]
            }
        return TextTable.render(rows)
    }

    static func text(_ group: DeviceGroup, _ members: [Device], _ changes: [GroupChange]) -> String {
        var lines = ["group \(group.name) (\(kind(group)))"]
        if !group.description.isEmpty { lines.append("description: \(group.description)") }
        if let condition = group.condition { lines.append("condition: \(condition)") }
        lines.append("created \(AuditReport.humanTime(group.createdAt)) by \(group.createdBy)")
        lines.append("")
        lines.append(
            members.isEmpty
                ? "no members"
                : TextTable.render(
                    [["HOSTNAME", "FINGERPRINT", "STATE"]] + members.map { [$0.hostname, $0.fingerprint, $0.state.rawValue] }))
        if !changes.isEmpty {
            lines.append("")
            lines.append(log(changes))
        }
        return lines.joined(separator: "\n")
    }

    static func log(_ changes: [GroupChange]) -> String {
        guard !changes.isEmpty else { return "no changes recorded" }
        return TextTable.render(
            [["WHEN", "BY", "GROUP", "ACTION", "DETAIL"]]
                + changes.map { [AuditReport.humanTime($0.at), $0.by, $0.group, $0.action.rawValue, $0.detail] })
    }

    static func json(_ group: DeviceGroup, members: [Device]?) -> String {
        object(group, members: members).serializedString
    }

    static func json(_ groups: [(group: DeviceGroup, members: [Device])]) -> String {
        JSONValue.array(groups.map { object($0.group, members: $0.members) }).serializedString
    }

    static func json(_ changes: [GroupChange]) -> String {
        JSONValue.array(
            changes.map {
                .object([
                    "at": .string(RFC3339.string(from: $0.at)), "by": .string($0.by), "group": .string($0.group),
                    "action": .string($0.action.rawValue), "detail": .string($0.detail)
                ])
            }
        ).serializedString
    }

    private static func object(_ group: DeviceGroup, members: [Device]?) -> JSONValue {
        var fields: [String: JSONValue] = [
            "name": .string(group.name), "kind": .string(kind(group)), "description": .string(group.description),
            "condition": group.condition.map(JSONValue.string) ?? .null, "created_by": .string(group.createdBy),
            "created_at": .string(RFC3339.string(from: group.createdAt))
        ]
        if let members {
            fields["members"] = .array(
                members.map {
                    .object(["hostname": .string($0.hostname), "fingerprint": .string($0.fingerprint), "state": .string($0.state.rawValue)])
                })
        }
        return .object(fields)
    }

    private static func kind(_ group: DeviceGroup) -> String { group.isDynamic ? "dynamic" : "static" }
}
