import Foundation

/// The groups of devices (`DeviceGroup`) and the members of static ones. Part of `Store`. Each
/// change is recorded with who made it in the same transaction as the change itself.
public protocol GroupStore: Sendable {
    /// Creates the group; false (and nothing recorded) when a group of that name exists.
    func createGroup(_ group: DeviceGroup) async throws -> Bool
    /// Deletes the group and its memberships; false when there was none of that name.
    func deleteGroup(named name: String, change: GroupChange) async throws -> Bool
    /// Every group, by name.
    func groups() async throws -> [DeviceGroup]
    /// Adds devices to a static group, leaving those already in it; how many it added.
    func addMembers(_ fingerprints: [String], change: GroupChange) async throws -> Int
    /// Removes devices from a static group; how many were in it.
    func removeMembers(_ fingerprints: [String], change: GroupChange) async throws -> Int
    /// The members of static groups: of one group, or of all (by group, then fingerprint).
    func groupMembers(group: String?) async throws -> [GroupMember]
    /// The newest `limit` changes, of one group or all, newest first.
    func groupChanges(group: String?, limit: Int) async throws -> [GroupChange]
}
