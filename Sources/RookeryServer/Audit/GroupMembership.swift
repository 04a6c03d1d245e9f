import Foundation
import RookeryCore

/// Which groups a device is in, as the audit and admin commands ask it: a static group's members
/// as the store keeps them, a dynamic group's by its condition over the device's latest document
/// (a condition that cannot tell, a value missing, does not make a member).
public struct GroupMembership: Sendable {
    public let groups: [DeviceGroup]
    private let members: [String: Set<String>]
    private let conditions: [String: Condition]

    public init(groups: [DeviceGroup], members: [GroupMember]) throws {
        self.groups = groups
        self.members = Dictionary(grouping: members, by: \.group).mapValues { Set($0.map(\.fingerprint)) }
        var conditions: [String: Condition] = [:]
        for group in groups {
            guard let text = group.condition else { continue }
            do {
                conditions[group.name] = try GroupCondition.parse(text)
            } catch {
                throw SettingsError("group \(group.name)'s stored condition no longer reads (\(error)); delete and create it again")
            }
        }
        self.conditions = conditions
    }

    /// Every group and static member in the store.
    public static func load(from store: any GroupStore) async throws -> GroupMembership {
        try GroupMembership(groups: try await store.groups(), members: try await store.groupMembers(group: nil))
    }

    public static let none = try! GroupMembership(groups: [], members: [])

    public func exists(_ name: String) -> Bool { groups.contains { $0.name == name } }

    /// The document paths the dynamic groups read: the audit reads these beside its checks'.
    public var paths: [DocumentPath] { conditions.values.flatMap(\.paths) }

    /// Whether the device (with the document values at `paths` projected) is in the group.
    public func contains(_ subject: AuditSubject, in group: String) -> Bool {
        if let condition = conditions[group] { return condition.evaluate(subject.projection) == .holds }
        return members[group]?.contains(subject.device.fingerprint) ?? false
    }

    /// The device is in at least one of `groups`.
    public func contains(_ subject: AuditSubject, inAnyOf groups: [String]) -> Bool {
        groups.contains { contains(subject, in: $0) }
    }

    /// `holds` when the device is in one of `groups`; `unknown` when it is in none for sure but a
    /// dynamic group's condition cannot tell (a plugin that said "unknown" this time); else `clear`.
    /// The audit leaves a check's issue alone on `unknown`, so one bad plugin run does not close
    /// and then reopen it.
    public func verdict(_ subject: AuditSubject, inAnyOf groups: [String]) -> Verdict {
        var undecided = false
        for group in groups {
            if let condition = conditions[group] {
                switch condition.evaluate(subject.projection) {
                case .holds: return .holds
                case .unknown: undecided = true
                case .clear: break
                }
            } else if members[group]?.contains(subject.device.fingerprint) ?? false {
                return .holds
            }
        }
        return undecided ? .unknown : .clear
    }

    /// The groups the device is in, by name.
    public func groups(of subject: AuditSubject) -> [String] {
        groups.map(\.name).filter { contains(subject, in: $0) }
    }
}
