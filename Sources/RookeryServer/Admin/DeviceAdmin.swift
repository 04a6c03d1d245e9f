import Foundation
import RookeryCore

/// What `bin/clients` does, over any store.
public struct DeviceAdmin: Sendable {
    let store: any Store
    /// The GnuPG home that caches device keys (`ServerKeyring`), for `forget`; nil: none to clean.
    let deviceKeys: OpenPGP?

    public init(store: any Store, deviceKeys: OpenPGP? = nil) {
        self.store = store
        self.deviceKeys = deviceKeys
    }

    /// Exactly one device by hostname or fingerprint; an ambiguous name lists the candidates.
    public func resolve(_ name: String) async throws -> Device {
        try await Self.resolve(name, in: store)
    }

    static func resolve(_ name: String, in store: any Store) async throws -> Device {
        let matches = try await store.devices(named: name)
        switch matches.count {
        case 0:
            throw AdminError(.notFound, "no device named \(name); see `bin/clients list`")
        case 1:
            return matches[0]
        default:
            let candidates = matches.map { "  \($0.fingerprint)  \($0.hostname)  \($0.state.rawValue)" }
            throw AdminError(.input, "\(name) is ambiguous; use one of these fingerprints:\n" + candidates.joined(separator: "\n"))
        }
    }

    public func list(state: DeviceState? = nil) async throws -> [Device] {
        try await store.devices(in: state)
    }

    /// Accepted devices whose latest submission came in on `port`: those a server that stopped
    /// listening there would lose.
    public func devices(reportingOn port: Int) async throws -> [Device] {
        try await store.acceptedDevices(reportingOn: port)
    }

    /// The device's newest `limit` remote-shell sessions, newest first, in any state.
    public func shellSessions(of device: Device, limit: Int) async throws -> [ShellSessionRecord] {
        try await store.shellSessions(fingerprint: device.fingerprint, limit: limit)
    }

    public func document(of device: Device) async throws -> JSONValue? {
        try await store.latestDocument(fingerprint: device.fingerprint)
    }

    public func history(of device: Device, limit: Int) async throws -> [ChangeRecord] {
        try await store.history(fingerprint: device.fingerprint, limit: limit)
    }

    /// The hostnames the device renamed itself from and to, newest first.
    public func renames(of device: Device) async throws -> [DeviceRename] {
        try await store.renames(fingerprint: device.fingerprint)
    }

    /// Moves a device to a new state; says no to moves that make no sense. A device already in
    /// that state is left as it is (so scripts may repeat themselves); `changed` tells which.
    public func change(
        _ name: String, to state: DeviceState,
        now: Date = Date()
    ) async throws -> (device: Device, changed: Bool) {
        var device = try await resolve(name)
        if device.state == state { return (device, false) }
        let allowed: Set<DeviceState> =
            switch state {
            case .accepted: [.pending, .rejected]
            case .rejected: [.pending]
            case .revoked: [.accepted, .pending]
            case .pending: []
            }
        if device.state == .revoked, state == .accepted { throw Self.revokedCannotReturn(device) }
        guard allowed.contains(device.state) else {
            throw AdminError(.conflict, "\(device.hostname) (\(device.fingerprint)) is \(device.state.rawValue); cannot make it \(state.rawValue)")
        }
        try await store.setState(state, fingerprint: device.fingerprint, at: now)
        device.state = state
        return (device, true)
    }

    /// A revoked key stays refused (it may have been stolen); the way back is to forget the device
    /// and have it enroll again, when it comes back pending and flagged for an admin to judge.
    private static func revokedCannotReturn(_ device: Device) -> AdminError {
        AdminError(
            .conflict,
            """
            \(device.hostname) (\(device.fingerprint)) is revoked, and a revoked key cannot be accepted again. \
            If the device is trusted again: `bin/clients forget \(device.fingerprint)`, then a new enrollment \
            from the device (`bin/rookery-client enroll` there, or its cron after its next submits) brings it \
            back pending and flagged, for `bin/clients accept`
            """)
    }

    /// Removes every trace of the device; its key may enroll again as a new, pending device. A
    /// revoked device's key is remembered, so that it waits for an admin whatever token it brings.
    public func forget(_ name: String, now: Date = Date()) async throws -> Device {
        let device = try await resolve(name)
        try await store.forget(fingerprint: device.fingerprint, at: now)
        // Only a cache: the server imports a key again from the database when it needs it.
        if let deviceKeys {
            try? KeyringWriteLock(keyring: deviceKeys.homeDirectory).withLock {
                try deviceKeys.deletePublicKey(fingerprint: device.fingerprint)
            }
        }
        return device
    }
}
