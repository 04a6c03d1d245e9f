import Foundation
import GRDB
import RookeryCore

extension SQLiteStore {
    public func secretKeepingRecord() async throws -> SecretKeepingRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM secret_keeping WHERE id = 1").map(Self.secretKeepingRecord(from:))
        }
    }

    public func saveSecretKeepingRecord(_ record: SecretKeepingRecord) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM secret_keeping")
            try db.execute(
                sql: """
                    INSERT INTO secret_keeping (id, fingerprint, public_key, shares, threshold, share_checksums, enabled, created_at)
                    VALUES (1, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    record.fingerprint, record.publicKey, record.shares, record.threshold,
                    record.storedShareChecksums, record.enabled, record.createdAt
                ])
        }
    }

    public func secretSelectors() async throws -> [SecretSelector] {
        try await pool.read { db in try Self.secretSelectors(in: db) }
    }

    public func changeSecretSelectors(adding: [SecretSelector], removing: [SecretSelector], at: Date) async throws {
        try await pool.write { db in
            for selector in adding {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO secret_selectors (selector, added_at) VALUES (?, ?)",
                    arguments: [selector.description, at])
            }
            for selector in removing {
                try db.execute(sql: "DELETE FROM secret_selectors WHERE selector = ?", arguments: [selector.description])
            }
        }
    }

    public func secretKeepingPolicy() async throws -> SecretKeepingPolicy? {
        try await pool.read { db in
            let selectors = try Self.secretSelectors(in: db)
            guard !selectors.isEmpty else { return nil }
            let key = try Row.fetchOne(db, sql: "SELECT fingerprint, public_key FROM secret_keeping WHERE id = 1 AND enabled")
                .map { SecretKeepingKey(fingerprint: $0["fingerprint"], publicKey: $0["public_key"]) }
            return SecretKeepingPolicy(key: key, selectors: selectors.map(\.description))
        }
    }

    public func appendSecretAccess(_ entry: SecretAccessEntry) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO secret_access_log (at, action, user, sudo_user, hosts, selectors, outcome)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    entry.at, entry.action, entry.user, entry.sudoUser,
                    SecretAccessEntry.storedList(entry.hosts), SecretAccessEntry.storedList(entry.selectors), entry.outcome
                ])
        }
    }

    public func secretAccessLog(limit: Int) async throws -> [SecretAccessEntry] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM secret_access_log ORDER BY id DESC LIMIT ?", arguments: [limit])
                .reversed().map { row in
                    SecretAccessEntry(
                        at: row["at"], action: row["action"], user: row["user"], sudoUser: row["sudo_user"],
                        hosts: SecretAccessEntry.list(stored: row["hosts"]), selectors: SecretAccessEntry.list(stored: row["selectors"]),
                        outcome: row["outcome"])
                }
        }
    }

    public func rewriteDocuments(
        of devices: [Device], redactingHistory: [SecretSelector],
        _ transform: @Sendable (Device, JSONValue) throws -> JSONValue?
    ) async throws -> Int {
        var changed = 0
        for device in devices {
            let rewritten = try await pool.writeWithoutTransaction { db -> Bool in
                var rewritten = false
                try db.inTransaction {
                    let before = try Self.rewriteDocument(of: device, in: db, transform)
                    rewritten = before.rewritten
                    try Self.redactHistory(of: device.fingerprint, under: redactingHistory, in: db)
                    try Self.redactIssueDetails(of: device.fingerprint, under: redactingHistory, quoting: before.document, in: db)
                    return .commit
                }
                return rewritten
            }
            if rewritten { changed += 1 }
        }
        // Earlier versions of the pages may still sit in the write-ahead log; copy it back and
        // empty it. A reader in the middle of a long read can hold it: wait a little for it.
        for attempt in 0..<20 {
            let busy = try await pool.writeWithoutTransaction { db in
                try Int.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") ?? 1
            }
            if busy == 0 { return changed }
            if attempt < 19 { try await Task.sleep(nanoseconds: 250_000_000) }
        }
        throw StoreError.writeAheadLogBusy
    }

    /// Returns whether the document changed, and the document as it was.
    private static func rewriteDocument(
        of device: Device, in db: Database,
        _ transform: (Device, JSONValue) throws -> JSONValue?
    ) throws -> (rewritten: Bool, document: JSONValue?) {
        guard
            let text = try String.fetchOne(
                db, sql: "SELECT document FROM documents WHERE fingerprint = ?",
                arguments: [device.fingerprint])
        else { return (false, nil) }
        let document = try JSONValue.parse(Data(text.utf8), limits: .storedData)
        guard let replacement = try transform(device, document) else { return (false, document) }
        try db.execute(
            sql: "UPDATE documents SET document = ? WHERE fingerprint = ?",
            arguments: [replacement.serializedString, device.fingerprint])
        return (true, document)
    }

    private static func redactIssueDetails(
        of fingerprint: String, under selectors: [SecretSelector],
        quoting document: JSONValue?, in db: Database
    ) throws {
        for text in HistoryRedaction.quotedTexts(of: selectors, in: document) {
            try db.execute(
                sql: "UPDATE issues SET detail = ? WHERE fingerprint = ? AND instr(detail, ?) > 0",
                arguments: [HistoryRedaction.redactedDetail, fingerprint, text])
        }
    }

    /// Every clear value at or below the selectors in a device's history becomes a withheld secret.
    private static func redactHistory(of fingerprint: String, under selectors: [SecretSelector], in db: Database) throws {
        for selector in selectors {
            let path = selector.description
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, old, new FROM changes
                    WHERE fingerprint = ? AND (path = ? OR substr(path, 1, ?) = ?)
                    """, arguments: [fingerprint, path, path.utf8.count + 1, path + "."])
            for row in rows {
                let old: String? = row["old"]
                let new: String? = row["new"]
                try db.execute(
                    sql: "UPDATE changes SET old = ?, new = ? WHERE id = ?",
                    arguments: [old.map(HistoryRedaction.redacted), new.map(HistoryRedaction.redacted), row["id"] as Int64])
            }
        }
    }

    static func secretSelectors(in db: Database) throws -> [SecretSelector] {
        try String.fetchAll(db.cachedStatement(sql: "SELECT selector FROM secret_selectors ORDER BY selector")).compactMap {
            try? SecretSelector($0)
        }
    }

    private static func secretKeepingRecord(from row: Row) -> SecretKeepingRecord {
        SecretKeepingRecord(
            fingerprint: row["fingerprint"], publicKey: row["public_key"], shares: row["shares"],
            threshold: row["threshold"], shareChecksums: SecretKeepingRecord.shareChecksums(stored: row["share_checksums"]),
            enabled: row["enabled"], createdAt: row["created_at"])
    }
}
