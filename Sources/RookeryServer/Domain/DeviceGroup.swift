import Foundation

/// A named set of devices that admin commands and checks can target (`bin/groups`). A static
/// group's members are added and removed by name; a dynamic group has a condition over the device
/// document instead, and its members are the accepted devices whose latest document satisfies it,
/// worked out whenever they are asked for.
public struct DeviceGroup: Sendable, Equatable {
    public var name: String
    public var description: String
    /// The condition's text as the admin gave it (see `GroupCondition`); nil for a static group.
    public var condition: String?
    public var createdBy: String
    public var createdAt: Date

    public init(name: String, description: String = "", condition: String? = nil, createdBy: String, createdAt: Date) {
        self.name = name
        self.description = description
        self.condition = condition
        self.createdBy = createdBy
        self.createdAt = createdAt
    }

    public var isDynamic: Bool { condition != nil }

    /// Lower-case letters, digits, `-` and `_`, as check names: group names appear in issues.yml
    /// and on command lines.
    public static func isValidName(_ name: String) -> Bool {
        name.range(of: "^[a-z0-9][a-z0-9_-]{0,62}$", options: .regularExpression) != nil
    }

    /// The longest description kept, in UTF-8 bytes.
    public static let maxDescriptionBytes = 500
}

/// One change to the groups, as recorded for `bin/groups show` and `bin/groups log`: who did what.
public struct GroupChange: Sendable, Equatable {
    public enum Action: String, Sendable, Codable {
        case created, deleted, added, removed
    }

    public var at: Date
    /// The admin, as `AdminOperator.name` says it.
    public var by: String
    public var group: String
    public var action: Action
    /// What changed: the members added or removed, or the condition a group was created with.
    public var detail: String

    public init(at: Date, by: String, group: String, action: Action, detail: String) {
        self.at = at
        self.by = by
        self.group = group
        self.action = action
        self.detail = detail
    }
}

/// A static group's member, as kept.
public struct GroupMember: Sendable, Equatable {
    public var group: String
    public var fingerprint: String
    public var addedBy: String
    public var addedAt: Date

    public init(group: String, fingerprint: String, addedBy: String, addedAt: Date) {
        self.group = group
        self.fingerprint = fingerprint
        self.addedBy = addedBy
        self.addedAt = addedAt
    }
}

extension GroupChange {
    /// The record of a group's creation: its condition, or that it is static.
    static func creating(_ group: DeviceGroup) -> GroupChange {
        GroupChange(
            at: group.createdAt, by: group.createdBy, group: group.name, action: .created,
            detail: group.condition.map { "dynamic: \($0)" } ?? "static")
    }
}
