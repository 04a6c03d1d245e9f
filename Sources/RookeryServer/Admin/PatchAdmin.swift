import Foundation
import RookeryCore

/// What `bin/patch_hosts`, `bin/client_command` and `bin/client_wipe` do: queue file changes under
/// chosen devices' `client/` trees. Every host and target is checked before anything is queued, so
/// a command either queues for every host named or for none.
public struct PatchAdmin: Sendable {
    let store: any Store
    let devices: DeviceAdmin

    public init(store: any Store) {
        self.store = store
        devices = DeviceAdmin(store: store)
    }

    /// The script `bin/client_wipe` queues; the work is the client's built-in `wipe`, which acts
    /// only on the device's configured system root.
    public static let wipeScript = """
        #!/bin/sh
        # Queued by bin/client_wipe: removes the home directories of regular users, ends their
        # processes and deletes their accounts, then reports what it did.
        exec "$ROOKERY_CLIENT" wipe --confirm

        """

    public func write(
        hosts: [String], target: String, content: Data, mode: Int,
        now: Date = Date()
    ) async throws -> [(Device, Patch)] {
        guard (0...0o777).contains(mode) else { throw AdminError(.input, "mode \(String(mode, radix: 8)) is not 0-777 (octal)") }
        // Devices run what lands under client/ as root: only root may write it.
        guard mode & 0o022 == 0 else {
            throw AdminError(.input, "mode \(String(mode, radix: 8)) lets others write the file, which root may run; use 755 or 644")
        }
        return try await queue(hosts: hosts, target: target, action: .write, content: content, mode: mode, now: now)
    }

    public func remove(hosts: [String], target: String, now: Date = Date()) async throws -> [(Device, Patch)] {
        try await queue(hosts: hosts, target: target, action: .remove, content: Data(), mode: 0, now: now)
    }

    /// A one-time command: a patch that writes `client/commands/NAME`, run once by the client.
    public func command(hosts: [String], name: String, script: Data, now: Date = Date()) async throws -> [(Device, Patch)] {
        guard InputValidation.isCommandName(name) else {
            throw AdminError(.input, "command name \(name) must be 1-64 of [A-Za-z0-9._-], not starting with a dot")
        }
        guard script.starts(with: Data("#!".utf8)) else {
            throw AdminError(.input, "the command must start with #! (for example #!/bin/sh) so the device knows how to run it")
        }
        return try await queue(
            hosts: hosts, target: "client/commands/" + name, action: .write,
            content: script, mode: 0o700, now: now)
    }

    public func wipe(hosts: [String], now: Date = Date()) async throws -> [(Device, Patch)] {
        try await command(hosts: hosts, name: "wipe", script: Data(Self.wipeScript.utf8), now: now)
    }

    /// What `list` found: each device's patches, and how many finished ones it left out.
    public struct Listing: Sendable {
        public var patches: [(Device, [Patch])] = []
        /// Finished patches of the chosen devices not in `patches` (listed without `includeFinished`),
        /// so that an empty list of pending patches is not mistaken for no patches at all.
        public var finishedLeftOut = 0
    }

    /// Every device's patches, pending only unless `includeFinished`.
    public func list(hosts: [String], includeFinished: Bool) async throws -> Listing {
        let chosen = hosts.isEmpty ? try await devices.list() : try await resolve(hosts)
        var listing = Listing()
        for device in chosen {
            let patches = try await store.patches(fingerprint: device.fingerprint, includeFinished: includeFinished)
            if !patches.isEmpty { listing.patches.append((device, patches)) }
            if !includeFinished { listing.finishedLeftOut += try await store.finishedPatchCount(fingerprint: device.fingerprint) }
        }
        return listing
    }

    /// Cancels the pending patch of `target` on each host; returns the hosts that had one.
    public func cancel(hosts: [String], target: String, now: Date = Date()) async throws -> [Device] {
        var cancelled: [Device] = []
        for device in try await resolve(hosts) {
            let pending = try await store.patches(fingerprint: device.fingerprint, includeFinished: false)
            for patch in pending where patch.target == target {
                if try await store.finishPatch(
                    id: patch.id, fingerprint: device.fingerprint, target: target,
                    state: .cancelled, message: "cancelled by an administrator", at: now, byAcceptedDevice: false)
                {
                    cancelled.append(device)
                }
            }
        }
        return cancelled
    }

    /// Patches travel inside update answers until acknowledged; larger files belong in a release.
    public static let maxContentBytes = 4 * 1024 * 1024
    /// All of one device's pending patches must fit in one update answer (the client takes 64 MiB,
    /// base64 makes 4 bytes of 3): past this, nothing would reach the device, not even a wipe.
    public static let maxPendingBytesPerDevice = 24 * 1024 * 1024

    private func queue(
        hosts: [String], target: String, action: PatchAction, content: Data, mode: Int,
        now: Date
    ) async throws -> [(Device, Patch)] {
        if let problem = InputValidation.patchTargetProblem(target) { throw AdminError(.input, problem) }
        guard content.count <= Self.maxContentBytes else {
            throw AdminError(.input, "the file is \(content.count) bytes; patches are limited to \(Self.maxContentBytes) (ship larger files in a release)")
        }
        let chosen = try await resolve(hosts)
        for device in chosen {
            let pending = try await store.patches(fingerprint: device.fingerprint, includeFinished: false)
            if pending.contains(where: { $0.target == target }) {
                throw AdminError(
                    .conflict,
                    "\(device.hostname) already has a pending patch for \(target); nothing was queued (cancel it first: bin/patch_hosts cancel --host \(device.hostname) \(target))"
                )
            }
            if pending.reduce(content.count, { $0 + $1.content.count }) > Self.maxPendingBytesPerDevice {
                throw AdminError(
                    .conflict,
                    "\(device.hostname) has too many pending patch bytes to add \(content.count) more (limit \(Self.maxPendingBytesPerDevice)); nothing was queued. Wait for the device to fetch them, or cancel some."
                )
            }
        }
        var queued: [(Device, Patch)] = []
        for device in chosen {
            do {
                let patch = try await store.queuePatch(
                    Patch(
                        fingerprint: device.fingerprint, target: target, action: action,
                        mode: mode, content: content, createdAt: now))
                queued.append((device, patch))
            } catch StoreError.pendingPatchExists {
                throw AdminError(.conflict, "\(device.hostname) got a pending patch for \(target) meanwhile; queued for \(queued.map(\.0.hostname))")
            }
        }
        return queued
    }

    /// Every host named, each exactly one device that may still receive patches.
    private func resolve(_ hosts: [String]) async throws -> [Device] {
        guard !hosts.isEmpty else { throw AdminError(.input, "name at least one device with --host or --group") }
        var chosen: [Device] = []
        for host in hosts {
            let device = try await devices.resolve(host)
            guard device.state == .accepted || device.state == .pending else {
                throw AdminError(.conflict, "\(device.hostname) is \(device.state.rawValue); it will never fetch a patch")
            }
            if !chosen.contains(where: { $0.fingerprint == device.fingerprint }) { chosen.append(device) }
        }
        return chosen
    }
}
