import Foundation
import RookeryCore

/// One secret value read back for an admin.
public struct RevealedValue: Sendable, Equatable {
    public let host: String
    public let fingerprint: String
    public let path: String
    /// The value; nil when it could not be decrypted (`problem` says why).
    public let value: JSONValue?
    public let problem: String?
}

extension SecretKeepingAdmin {
    /// Rebuilds the key from the shares, decrypts the selected values of the chosen devices and
    /// returns them; stores nothing.
    public func access(
        sharePaths: [String], hosts: [String], selectors: [SecretSelector],
        now: Date = Date()
    ) async throws -> [RevealedValue] {
        try await logged("access", hosts: hosts, selectors: selectors.map(\.description), now: now) {
            let devices = try await chosenDevices(hosts)
            let revealed = try await withRecoveredKey(sharePaths) { home in
                var revealed: [RevealedValue] = []
                for device in devices {
                    guard let document = try await store.latestDocument(fingerprint: device.fingerprint) else { continue }
                    revealed += SecretDocuments.secrets(in: document).filter { Self.wanted($0.dotted, selectors) }
                        .map { Self.reveal($0, of: device, with: home.openPGP) }
                }
                return revealed
            }
            return (revealed, "\(revealed.count) values")
        }
    }

    /// Like `access`, and writes the values back in clear (to retire a selector). Only paths that
    /// are no longer selected: devices would send a selected one encrypted again.
    public func decrypt(
        sharePaths: [String], hosts: [String], selectors: [SecretSelector],
        now: Date = Date()
    ) async throws -> (values: [RevealedValue], documents: Int) {
        try await logged("decrypt", hosts: hosts, selectors: selectors.map(\.description), now: now) {
            let selected = try await store.secretSelectors()
            if let still = selectors.first(where: selected.contains) {
                throw AdminError(.conflict, "\(still) is still selected: devices keep sending it encrypted. `deselect` it first, then decrypt")
            }
            let devices = try await chosenDevices(hosts)
            let result = try await withRecoveredKey(sharePaths) { home in
                let openPGP = home.openPGP
                let collected = Locked<[RevealedValue]>([])
                let rewritten = try await store.rewriteDocuments(of: devices, redactingHistory: []) { device, document in
                    let found = SecretDocuments.secrets(in: document).filter { item in
                        Self.wanted(item.dotted, selectors) && !selected.contains { $0.covers(path: item.dotted) }
                    }
                    var changed = document
                    for item in found {
                        let revealed = Self.reveal(item, of: device, with: openPGP)
                        collected.withLock { $0.append(revealed) }
                        if let value = revealed.value { changed = changed.replacing(at: item.path, with: value) }
                    }
                    return changed == document ? nil : changed
                }
                return (collected.current, rewritten)
            }
            return (result, "\(result.1) documents written back in clear")
        }
    }

    /// Encrypts, with the public key alone, the selected values stored in clear before they were
    /// selected, and removes clear values at those paths from the history and from issue details.
    /// Returns how many documents changed.
    public func encrypt(hosts: [String], selectors: [SecretSelector], now: Date = Date()) async throws -> Int {
        try await logged("encrypt", hosts: hosts, selectors: selectors.map(\.description), now: now) {
            guard let record = try await store.secretKeepingRecord(), record.enabled else {
                throw AdminError(.conflict, "secret keeping is not enabled; run `enable` first")
            }
            let selected = try await store.secretSelectors()
            if let unselected = selectors.first(where: { !selected.contains($0) }) {
                throw AdminError(.conflict, "\(unselected) is not selected; `select` it first")
            }
            let targets = selectors.isEmpty ? selected : selectors
            guard !targets.isEmpty else { throw AdminError(.conflict, "nothing is selected; `select` a path first") }
            let devices = try await chosenDevices(hosts)
            let home = try TemporaryKeyHome(in: temporaryBase)
            defer { home.wipe() }
            try home.openPGP.importKeys(Data(record.publicKey.utf8))
            let openPGP = home.openPGP
            let sealer = SecretSealer(selectors: targets, encrypt: { try openPGP.encrypt($0, to: record.fingerprint) }, hashKey: nil)
            let changed = try await store.rewriteDocuments(of: devices, redactingHistory: targets) { _, document in
                let sealed = sealer.seal(document)
                if let failed = sealed.failed.first { throw AdminError("cannot encrypt \(failed)") }
                return sealed.document == document ? nil : sealed.document
            }
            return (changed, "\(changed) documents")
        }
    }

    /// Runs `body` with the key rebuilt from the shares in a temporary home, wiped afterwards.
    private func withRecoveredKey<T>(_ sharePaths: [String], _ body: (TemporaryKeyHome) async throws -> T) async throws -> T {
        guard let record = try await store.secretKeepingRecord() else {
            throw AdminError(.conflict, "secret keeping has no key; nothing is encrypted")
        }
        let home = try SecretKeyRecovery(record: record, temporaryBase: temporaryBase).recover(sharePaths: sharePaths)
        defer { home.wipe() }
        return try await body(home)
    }

    /// The named devices, or every device when none is named.
    private func chosenDevices(_ hosts: [String]) async throws -> [Device] {
        guard !hosts.isEmpty else { return try await store.devices(in: nil) }
        var devices: [Device] = []
        for host in hosts { devices.append(try await DeviceAdmin.resolve(host, in: store)) }
        return devices
    }

    private static func reveal(_ item: SecretDocuments.Found, of device: Device, with openPGP: OpenPGP) -> RevealedValue {
        guard let plain = try? openPGP.decrypt(item.message), let value = try? JSONValue.parse(plain, limits: .storedData) else {
            return RevealedValue(
                host: device.hostname, fingerprint: device.fingerprint, path: item.dotted,
                value: nil, problem: "does not decrypt with this key")
        }
        return RevealedValue(host: device.hostname, fingerprint: device.fingerprint, path: item.dotted, value: value, problem: nil)
    }

    private static func wanted(_ path: String, _ selectors: [SecretSelector]) -> Bool {
        selectors.isEmpty || selectors.contains { $0.covers(path: path) }
    }
}
