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
    public func access(sharePaths: [String], hosts: [String], selectors: [SecretSelector],
                       now: Date = Date()) async throws -> [RevealedValue] {
        let devices = try await chosenDevices(hosts)
        return try await withRecoveredKey(action: "access", sharePaths: sharePaths, hosts: hosts,
                                          selectors: selectors, now: now) { home in
            var revealed: [RevealedValue] = []
            for device in devices {
                guard let document = try await store.latestDocument(fingerprint: device.fingerprint) else { continue }
                revealed += Self.reveal(document, of: device, selectors: selectors, with: home.openPGP)
            }
            return revealed
        }
    }

    /// Like `access`, and writes the values back in clear (to retire a selector). Only paths that
    /// are no longer selected: devices would send a selected one encrypted again.
    public func decrypt(sharePaths: [String], hosts: [String], selectors: [SecretSelector],
                        now: Date = Date()) async throws -> (values: [RevealedValue], documents: Int) {
        let selected = try await store.secretSelectors()
        if let still = selectors.first(where: selected.contains) {
            throw AdminError("\(still) is still selected: devices keep sending it encrypted. `deselect` it first, then decrypt")
        }
        let devices = try await chosenDevices(hosts)
        return try await withRecoveredKey(action: "decrypt", sharePaths: sharePaths, hosts: hosts,
                                          selectors: selectors, now: now) { home in
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
                    if let value = revealed.value { changed = SecretDocuments.replacing(item.path, in: changed, with: value) }
                }
                return changed == document ? nil : changed
            }
            return (collected.withLock { $0 }, rewritten)
        }
    }

    /// Encrypts, with the public key alone, the selected values stored in clear before they were
    /// selected, and removes clear values at those paths from the history. Returns how many
    /// documents changed.
    public func encrypt(hosts: [String], selectors: [SecretSelector], now: Date = Date()) async throws -> Int {
        guard let record = try await store.secretKeepingRecord(), record.enabled else {
            throw AdminError("secret keeping is not enabled; run `enable` first")
        }
        let selected = try await store.secretSelectors()
        if let unselected = selectors.first(where: { !selected.contains($0) }) {
            throw AdminError("\(unselected) is not selected; `select` it first")
        }
        let targets = selectors.isEmpty ? selected : selectors
        guard !targets.isEmpty else { throw AdminError("nothing is selected; `select` a path first") }
        let devices = try await chosenDevices(hosts)
        let home = try TemporaryKeyHome(in: temporaryBase)
        defer { home.wipe() }
        try home.openPGP.importKeys(Data(record.publicKey.utf8))
        let openPGP = home.openPGP
        let sealer = SecretSealer(selectors: targets, encrypt: { try openPGP.encrypt($0, to: record.fingerprint) }, hashKey: nil)
        do {
            let changed = try await store.rewriteDocuments(of: devices, redactingHistory: targets) { _, document in
                let sealed = sealer.seal(document)
                if let failed = sealed.failed.first { throw AdminError("cannot encrypt \(failed)") }
                return sealed.document == document ? nil : sealed.document
            }
            try await log("encrypt", hosts: hosts, selectors: selectors.map(\.description), outcome: "ok: \(changed) documents", now: now)
            return changed
        } catch {
            try await log("encrypt", hosts: hosts, selectors: selectors.map(\.description), outcome: "failed: \(error)", now: now)
            throw error
        }
    }

    /// Runs `body` with the key rebuilt in a temporary home, wiped afterwards; logs the attempt
    /// (the hosts and paths as asked; none means all) and its outcome either way.
    private func withRecoveredKey<T>(action: String, sharePaths: [String], hosts: [String], selectors: [SecretSelector],
                                     now: Date, _ body: (TemporaryKeyHome) async throws -> T) async throws -> T {
        let selectorNames = selectors.map(\.description)
        do {
            guard let record = try await store.secretKeepingRecord() else {
                throw AdminError("secret keeping has no key; nothing is encrypted")
            }
            let home = try SecretKeyRecovery(record: record, temporaryBase: temporaryBase).recover(sharePaths: sharePaths)
            defer { home.wipe() }
            let result = try await body(home)
            try await log(action, hosts: hosts, selectors: selectorNames, outcome: "ok", now: now)
            return result
        } catch {
            try await log(action, hosts: hosts, selectors: selectorNames, outcome: "refused: \(error)", now: now)
            throw error
        }
    }

    /// The named devices, or every device when none is named.
    private func chosenDevices(_ hosts: [String]) async throws -> [Device] {
        guard !hosts.isEmpty else { return try await store.devices(in: nil) }
        var devices: [Device] = []
        for host in hosts { devices.append(try await DeviceAdmin.resolve(host, in: store)) }
        return devices
    }

    private static func reveal(_ document: JSONValue, of device: Device, selectors: [SecretSelector],
                               with openPGP: OpenPGP) -> [RevealedValue] {
        SecretDocuments.secrets(in: document).filter { wanted($0.dotted, selectors) }.map { reveal($0, of: device, with: openPGP) }
    }

    private static func reveal(_ item: SecretDocuments.Found, of device: Device, with openPGP: OpenPGP) -> RevealedValue {
        guard let plain = try? openPGP.decrypt(item.message), let value = try? JSONValue.parse(plain, limits: .storedData) else {
            return RevealedValue(host: device.hostname, fingerprint: device.fingerprint, path: item.dotted,
                                 value: nil, problem: "does not decrypt with this key")
        }
        return RevealedValue(host: device.hostname, fingerprint: device.fingerprint, path: item.dotted, value: value, problem: nil)
    }

    private static func wanted(_ path: String, _ selectors: [SecretSelector]) -> Bool {
        selectors.isEmpty || selectors.contains { $0.covers(path: path) }
    }
}
