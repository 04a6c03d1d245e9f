import Foundation
import RookeryCore

/// `bin/groups plan` and `bin/groups apply`: what the managed-state files on disk would send
/// each device, against what it was sent and what it says it runs; then sending it.
public struct ManagedStateAdmin: Sendable {
    let store: any Store
    let root: InstallRoot

    public init(store: any Store, root: InstallRoot) {
        self.store = store
        self.root = root
    }

    /// One device in a plan.
    public struct Entry: Sendable {
        public var device: Device
        /// What the server sends it now (nil: nothing yet).
        public var shipped: ManagedState?
        /// What the files on disk would send it.
        public var proposed: ManagedState
        /// The state the device's latest document says it runs.
        public var runningSHA256: String?
        public var diff: ManagedStateDiff { ManagedStateDiff(from: shipped, to: proposed) }
        public var changes: Bool { shipped?.sha256 != proposed.sha256 }
        /// Whether the device runs what it was sent.
        public var deviceIsCurrent: Bool { shipped != nil && runningSHA256 == shipped?.sha256 }
    }

    /// Every accepted device (or those chosen by `hosts`/`groups`), by hostname.
    public func plan(hosts: [String] = [], groups: [String] = []) async throws -> [Entry] {
        let files = try ManagedConfigFiles.read(root)
        let (snapshot, states) = try await ManagedStateRenderer(store: store).render(files)
        let chosen: Set<String>? =
            hosts.isEmpty && groups.isEmpty
            ? nil : Set(try await GroupAdmin(store: store).targets(hosts: hosts, groups: groups).map(\.fingerprint))
        var entries: [Entry] = []
        for member in snapshot.members where chosen?.contains(member.device.fingerprint) ?? true {
            let shipped = try await store.managedState(fingerprint: member.device.fingerprint).map(ManagedStateText.decode)
            entries.append(
                Entry(
                    device: member.device, shipped: shipped, proposed: states[member.device.fingerprint]!,
                    runningSHA256: member.runningSHA256))
        }
        return entries
    }

    /// Records the files on disk as applied by `who` and renders every device's state from them;
    /// devices get it at their next update. Returns how many devices' states changed.
    public func apply(by who: AdminOperator, now: Date = Date()) async throws -> Int {
        let files = try ManagedConfigFiles.read(root)
        // Refused before anything is recorded: a file that does not read, a group that does not exist.
        _ = try await ManagedStateRenderer(store: store).render(files)
        try await store.recordManagedConfig(AppliedManagedConfig(files: files, appliedBy: who.name, appliedAt: now))
        return try await ManagedStateRenderer(store: store).refresh(now: now)
    }

    /// The configuration as last applied; nil before the first apply.
    public func applied() async throws -> AppliedManagedConfig? { try await store.managedConfig() }
}
