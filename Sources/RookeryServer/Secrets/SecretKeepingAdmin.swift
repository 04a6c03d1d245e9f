import Foundation
import RookeryCore

/// What `bin/secret_keeping` does, over any store. Every action that makes, reads or rewrites
/// secrets is recorded in the append-only access log, whether it succeeds or not.
public struct SecretKeepingAdmin: Sendable {
    let store: any Store
    let who: AdminOperator
    /// Where temporary GnuPG homes go; nil: /dev/shm where there is one (see `TemporaryKeyHome`).
    let temporaryBase: String?

    public init(store: any Store, who: AdminOperator = .current(), temporaryBase: String? = nil) {
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
        /// Values re-encrypted under the new key, and those that did not decrypt (left as they were).
        public let reencrypted: Int
        public let unreadable: Int
    }

    public func enable(
        shares: Int, threshold: Int, outDirectory: String?, existing: ExistingKey,
        now: Date = Date()
    ) async throws -> Enabled {
        try await logged("enable", now: now) {
            let current = try await store.secretKeepingRecord()
            switch (current, existing) {
            case (let record?, .preserve):
                var enabled = record
                enabled.enabled = true
                try await store.saveSecretKeepingRecord(enabled)
                return (Enabled(record: enabled, shareFiles: [], reencrypted: 0, unreadable: 0), "preserved key \(record.fingerprint)")
            case (nil, .preserve):
                throw AdminError(.conflict, "there is no secret-keeping key to preserve; run `enable` without --preserve to make one")
            case (let record?, .refuse):
                throw AdminError(
                    .conflict,
                    "secret keeping already has a key (\(record.fingerprint)); --preserve keeps it, "
                        + "--replace --share FILE... makes a new one and re-encrypts everything under it")
            case (nil, .replace):
                throw AdminError(.conflict, "there is no secret-keeping key to replace; run `enable` without --replace")
            case (nil, .refuse), (_?, .replace):
                break
            }
            try Self.checkSplit(shares: shares, threshold: threshold)
            guard let outDirectory else { throw AdminError(.input, "--out DIR is needed: the new share files go there") }
            // Old and new key share one home during a rotation, so a value already encrypted to the
            // new key (a device that updated meanwhile) decrypts as well as an old one.
            let home =
                if let current, case .replace(let paths) = existing {
                    try SecretKeyRecovery(record: current, temporaryBase: temporaryBase).recover(sharePaths: paths)
                } else {
                    try TemporaryKeyHome(in: temporaryBase)
                }
            defer { home.wipe() }
            let (record, files) = try SecretKeyCeremony(shares: shares, threshold: threshold, outDirectory: outDirectory)
                .perform(in: home, now: now)
            // Recorded first, so devices switch to the new key at their next update check.
            try await store.saveSecretKeepingRecord(record)
            var outcome = "new key \(record.fingerprint), \(threshold) of \(shares) shares"
            guard let current else {
                return (Enabled(record: record, shareFiles: files, reencrypted: 0, unreadable: 0), outcome)
            }
            let (reencrypted, unreadable) = try await reencrypt(in: home, to: record)
            outcome +=
                ", replaced \(current.fingerprint), re-encrypted \(reencrypted) values"
                + (unreadable > 0 ? ", \(unreadable) did not decrypt and stay as they were" : "")
            return (Enabled(record: record, shareFiles: files, reencrypted: reencrypted, unreadable: unreadable), outcome)
        }
    }

    static func checkSplit(shares: Int, threshold: Int) throws {
        guard (1...255).contains(shares), (1...shares).contains(threshold) else {
            throw AdminError(.input, "--shares M and --threshold N need 1 <= N <= M <= 255 (got M=\(shares), N=\(threshold))")
        }
    }

    /// Every stored secret value, decrypted (with the old key, or the new one for a device that
    /// already uses it) and encrypted to the new key; the device's hash stays, the value is the
    /// same. A value neither key opens (a device's own invention) is left as it is and counted.
    private func reencrypt(in home: TemporaryKeyHome, to record: SecretKeepingRecord) async throws -> (done: Int, unreadable: Int) {
        let openPGP = home.openPGP
        let counts = Locked((done: 0, unreadable: 0))
        _ = try await store.rewriteDocuments(of: try await store.devices(in: nil), redactingHistory: []) { _, document in
            let secrets = SecretDocuments.secrets(in: document)
            guard !secrets.isEmpty else { return nil }
            return try secrets.reduce(document) { current, item in
                guard let plain = try? openPGP.decrypt(item.message) else {
                    counts.withLock { $0.unreadable += 1 }
                    return current
                }
                counts.withLock { $0.done += 1 }
                let sealed = SecretValue(message: try openPGP.encrypt(plain, to: record.fingerprint), hash: item.value.hash)
                return current.replacing(at: item.path, with: sealed.json)
            }
        }
        return counts.current
    }

    public func disable(now: Date = Date()) async throws -> SecretKeepingRecord {
        try await logged("disable", now: now) {
            guard var record = try await store.secretKeepingRecord(), record.enabled else {
                throw AdminError(.conflict, "secret keeping is not enabled")
            }
            let selectors = try await store.secretSelectors()
            guard selectors.isEmpty else {
                throw AdminError(
                    .conflict,
                    "paths are still selected (\(selectors.map(\.description).joined(separator: ", "))): "
                        + "devices would withhold them with no key to encrypt to. `deselect` them first (their values then arrive in clear)")
            }
            let counts = try await SecretDocuments.count(in: store)
            guard counts.encrypted == 0 else {
                throw AdminError(.conflict, "\(counts.encrypted) stored values are still encrypted; run `decrypt --share FILE...` first")
            }
            record.enabled = false
            try await store.saveSecretKeepingRecord(record)
            return (record, "")
        }
    }

    /// Adds selectors; returns how many stored values at them are still in clear (for `encrypt`),
    /// and whether secret keeping is enabled (if not, devices withhold them).
    public func select(_ selectors: [SecretSelector], now: Date = Date()) async throws -> (clear: Int, enabled: Bool) {
        try await logged("select", selectors: selectors.map(\.description), now: now) {
            try await store.changeSecretSelectors(adding: selectors, removing: [], at: now)
            let clear = try await SecretDocuments.clearValues(at: selectors, in: store)
            return ((clear, try await store.secretKeepingRecord()?.enabled == true), "")
        }
    }

    public func deselect(_ selectors: [SecretSelector], now: Date = Date()) async throws {
        try await logged("deselect", selectors: selectors.map(\.description), now: now) {
            try await store.changeSecretSelectors(adding: [], removing: selectors, at: now)
            return ((), "")
        }
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
        return Status(
            record: try await store.secretKeepingRecord(), selectors: try await store.secretSelectors(),
            encrypted: counts.encrypted, withheld: counts.withheld,
            log: try await store.secretAccessLog(limit: logLimit))
    }

    /// Runs one action and records it in the access log with how it ended: done, refused, or
    /// stopped part-way (what was done before stays done, and the message says so).
    func logged<T>(
        _ action: String, hosts: [String] = [], selectors: [String] = [], now: Date,
        _ body: () async throws -> (result: T, outcome: String)
    ) async throws -> T {
        func log(_ outcome: String) async throws {
            try await store.appendSecretAccess(
                SecretAccessEntry(
                    at: now, action: action, user: who.user, sudoUser: who.sudoUser, hosts: hosts,
                    selectors: selectors, outcome: outcome))
        }
        let done: (result: T, outcome: String)
        do {
            done = try await body()
        } catch {
            try await log("not done: \(error)")
            throw error
        }
        try await log(done.outcome.isEmpty ? "ok" : "ok: " + done.outcome)
        return done.result
    }
}
