import Foundation
import RookeryCore

/// Renders what the server manages on each accepted device, from the managed-state files and the
/// fleet as it now is (groups, and the addresses firewall rules are written from).
public struct ManagedStateRenderer: Sendable {
    let store: any Store

    public init(store: any Store) { self.store = store }

    /// What `files` would give every accepted device now, by fingerprint, and the fleet read for it.
    public func render(_ files: ManagedConfigFiles) async throws -> (snapshot: FleetSnapshot, states: [String: ManagedState]) {
        let config = try ManagedConfig(files)
        let membership = try await GroupMembership.load(from: store)
        try config.checkGroups(membership)
        let snapshot = try await FleetSnapshot.read(store, membership: membership)
        var states: [String: ManagedState] = [:]
        for member in snapshot.members { states[member.device.fingerprint] = config.state(for: member, in: snapshot) }
        return (snapshot, states)
    }

    /// Renders from the applied configuration and writes the states that changed: a member's new
    /// address, a device joining a group. Returns how many changed; nothing before the first apply.
    @discardableResult
    public func refresh(now: Date = Date()) async throws -> Int {
        guard let applied = try await store.managedConfig() else { return 0 }
        let states = try await render(applied.files).states
        let stored = try await store.managedStateDigests()
        let changed = states.filter { stored[$0.key] != $0.value.sha256 }
        // An apply (here or on another host) while this rendered wins: this render is dropped.
        guard !changed.isEmpty, try await store.managedConfig() == applied else { return 0 }
        try await store.writeManagedStates(changed, at: now)
        return changed.count
    }
}
