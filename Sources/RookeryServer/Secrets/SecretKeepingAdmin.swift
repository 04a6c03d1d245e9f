import Foundation
import RookeryCore

/// What `bin/secret_keeping` does, over any store. Every action that makes, reads or rewrites
/// secrets is recorded in the append-only access log, whether it succeeds or not.
public struct SecretKeepingAdmin: Sendable {
    let store: any Store
    let who: SecretOperator
    /// Where temporary GnuPG homes go; nil: /dev/shm where there is one (see `TemporaryKeyHome`).
    let temporaryBase: String?

    public init(store: any Store, who: SecretOperator = .current(), temporaryBase: String? = nil) {
        self.store = store
        self.who = who
        self.temporaryBase = temporaryBase
    }

    /// What `enable` does with a key that exists already.
    public enum ExistingKey: Sendable, Equatable {
        /// Refuse: there is a key and the admin said nothing about it.
        case refuse
        /// Keep it; only turn secret keeping back on.
        case preserve
        /// Make a new key, re-encrypt everything under it; needs enough current shares.
        case replace(sharePaths: [String])
    }

    /// The outcome of `enable` for the admin to read.
    public struct Enabled: Sendable {
        public let record: SecretKeepingRecord
        /// Share files written, by x coordinate; empty for --preserve.
        public let shareFiles: [String]
        public let reencrypted: Int
    }

    public func enable(shares: Int, threshold: Int, outDirectory: String?, existing: ExistingKey,
                       now: Date = Date()) async throws -> Enabled {
        let current = try await store.secretKeepingRecord()
        switch (current, existing) {
        case (let record?, .preserve):
            var enabled = record
            enabled.enabled = true
            try await store.saveSecretKeepingRecord(enabled)
            try await log("enable", outcome: "ok: preserved key \(record.fingerprint)", now: now)
            return Enabled(record: enabled, shareFiles: [], reencrypted: 0)
        case (nil, .preserve):
            throw AdminError("there is no secret-keeping key to preserve; run `enable` without --preserve to make one")
        case (let record?, .refuse):
            throw AdminError("secret keeping already has a key (\(record.fingerprint)); --preserve keeps it, "
                + "--replace --share FILE... makes a new one and re-encrypts everything under it")
        case (nil, .replace):
            throw AdminError("there is no secret-keeping key to replace; run `enable` without --replace")
        case (nil, .refuse), (_?, .replace):
            break
        }
        try Self.checkSplit(shares: shares, threshold: threshold)
        guard let outDirectory else { throw AdminError("--out DIR is needed: the new share files go there") }
        // Old and new key share one home during a rotation, so a value already encrypted to the
        // new key (a device that updated meanwhile) decrypts as well as an old one.
        let home: TemporaryKeyHome
        let replaced: SecretKeepingRecord?
        if let current, case .replace(let paths) = existing {
            do {
                home = try SecretKeyRecovery(record: current, temporaryBase: temporaryBase).recover(sharePaths: paths)
            } catch {
                try await log("enable", outcome: "refused: \(error)", now: now)
                throw error
            }
            replaced = current
        } else {
            home = try TemporaryKeyHome(in: temporaryBase)
            replaced = nil
        }
        defer { home.wipe() }
        let (record, files) = try SecretKeyCeremony(shares: shares, threshold: threshold, outDirectory: outDirectory)
            .perform(in: home, now: now)
        try await store.saveSecretKeepingRecord(record)
        let reencrypted = replaced == nil ? 0 : try await reencrypt(in: home, to: record)
        try await log("enable", outcome: "ok: new key \(record.fingerprint), \(threshold) of \(shares) shares"
                      + (replaced.map { ", replaced \($0.fingerprint), re-encrypted \(reencrypted) documents" } ?? ""), now: now)
        return Enabled(record: record, shareFiles: files, reencrypted: reencrypted)
    }

    static func checkSplit(shares: Int, threshold: Int) throws {
        guard (1...255).contains(shares), (1...shares).contains(threshold) else {
            throw AdminError("--shares M and --threshold N need 1 <= N <= M <= 255 (got M=\(shares), N=\(threshold))")
        }
    }

    /// Every stored secret value, decrypted (with the old key, or the new one for a device that
    /// already uses it) and encrypted to the new key; the device's hash stays, the value is the same.
    private func reencrypt(in home: TemporaryKeyHome, to record: SecretKeepingRecord) async throws -> Int {
        let openPGP = home.openPGP
        return try await store.rewriteDocuments(of: try await store.devices(in: nil), redactingHistory: []) { _, document in
            let secrets = SecretDocuments.secrets(in: document)
            guard !secrets.isEmpty else { return nil }
            return try secrets.reduce(document) { current, item in
                let plain = try openPGP.decrypt(item.message)
                let sealed = SecretValue(message: try openPGP.encrypt(plain, to: record.fingerprint), hash: item.value.hash)
                return SecretDocuments.replacing(item.path, in: current, with: sealed.json)
            }
        }
    }

    public func disable(now: Date = Date()) async throws -> SecretKeepingRecord {
        guard var record = try await store.secretKeepingRecord(), record.enabled else {
            throw AdminError("secret keeping is not enabled")
        }
        let selectors = try await store.secretSelectors()
        guard selectors.isEmpty else {
            throw AdminError("paths are still selected (\(selectors.map(\.description).joined(separator: ", "))): "
                + "devices would withhold them with no key to encrypt to. `deselect` them first (their values then arrive in clear)")
        }
        let counts = try await SecretDocuments.count(in: store)
        guard counts.encrypted == 0 else {
            throw AdminError("\(counts.encrypted) stored values are still encrypted; run `decrypt --share FILE...` first")
        }
        record.enabled = false
        try await store.saveSecretKeepingRecord(record)
        try await log("disable", outcome: "ok", now: now)
        return record
    }

    /// Adds selectors; returns how many stored values at them are still in clear (for `encrypt`).
    public func select(_ selectors: [SecretSelector], now: Date = Date()) async throws -> Int {
        try await store.changeSecretSelectors(adding: selectors, removing: [], at: now)
        try await log("select", selectors: selectors.map(\.description), outcome: "ok", now: now)
        return try await SecretDocuments.clearValues(at: selectors, in: store)
    }

    public func deselect(_ selectors: [SecretSelector], now: Date = Date()) async throws {
        try await store.changeSecretSelectors(adding: [], removing: selectors, at: now)
        try await log("deselect", selectors: selectors.map(\.description), outcome: "ok", now: now)
    }

    /// Everything `show` prints.
    public struct Status: Sendable {
        public let record: SecretKeepingRecord?
        public let selectors: [SecretSelector]
        public let encrypted: Int
        public let withheld: Int
        public let log: [SecretAccessEntry]
    }

    public func status(logLimit: Int = 50) async throws -> Status {
        let counts = try await SecretDocuments.count(in: store)
        return Status(record: try await store.secretKeepingRecord(), selectors: try await store.secretSelectors(),
                      encrypted: counts.encrypted, withheld: counts.withheld,
                      log: try await store.secretAccessLog(limit: logLimit))
    }

    func log(_ action: String, hosts: [String] = [], selectors: [String] = [], outcome: String, now: Date) async throws {
        try await store.appendSecretAccess(SecretAccessEntry(
            at: now, action: action, user: who.user, sudoUser: who.sudoUser, hosts: hosts,
            selectors: selectors, outcome: outcome))
    }
}
