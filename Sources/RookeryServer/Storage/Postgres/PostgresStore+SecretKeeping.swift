import Foundation
import PostgresNIO
import RookeryCore

extension PostgresStore: SecretKeepingStore {
    /// Held shared by every transaction that stores a submission, and alone by a change of the
    /// selectors: a submission checked against the selectors is stored before they change, or
    /// is checked against the new ones.
    static let secretSelectorsLock: Int64 = 0x726F_6F6B_7365_6C73  // "rooksels"

    public func secretKeepingRecord() async throws -> SecretKeepingRecord? {
        let rows = try await pool.query(
            """
            SELECT fingerprint, public_key, shares, threshold, share_checksums, enabled, created_at
            FROM secret_keeping WHERE id = 1
            """, logger: logger)
        var record: SecretKeepingRecord?
        for try await row in rows.decode((String, String, Int64, Int64, String, Bool, Date).self) {
            record = SecretKeepingRecord(
                fingerprint: row.0, publicKey: row.1, shares: Int(row.2), threshold: Int(row.3),
                shareChecksums: SecretKeepingRecord.shareChecksums(stored: row.4), enabled: row.5, createdAt: row.6)
        }
        return record
    }

    public func saveSecretKeepingRecord(_ record: SecretKeepingRecord) async throws {
        let logger = logger
        try await transaction { connection in
            try await connection.query("DELETE FROM secret_keeping", logger: logger)
            try await connection.query(
                """
                INSERT INTO secret_keeping (id, fingerprint, public_key, shares, threshold, share_checksums, enabled, created_at)
                VALUES (1, \(record.fingerprint), \(record.publicKey), \(Int64(record.shares)), \(Int64(record.threshold)),
                        \(record.storedShareChecksums), \(record.enabled), \(record.createdAt))
                """, logger: logger)
        }
    }

    public func secretSelectors() async throws -> [SecretSelector] {
        let logger = logger
        return try await pool.withConnection { connection in
            try await Self.secretSelectors(on: connection, logger: logger)
        }
    }

    static func secretSelectors(on connection: PostgresConnection, logger: Logger) async throws -> [SecretSelector] {
        var selectors: [SecretSelector] = []
        let rows = try await connection.query("SELECT selector FROM secret_selectors ORDER BY selector COLLATE \"C\"", logger: logger)
        for try await text in rows.decode(String.self) {
            if let selector = try? SecretSelector(text) { selectors.append(selector) }
        }
        return selectors
    }

    public func changeSecretSelectors(adding: [SecretSelector], removing: [SecretSelector], at: Date) async throws {
        let logger = logger
        try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.secretSelectorsLock))", logger: logger)
            try await connection.query(
                """
                INSERT INTO secret_selectors (selector, added_at) SELECT unnest(\(adding.map(\.description))::text[]), \(at)
                ON CONFLICT DO NOTHING
                """, logger: logger)
            try await connection.query(
                "DELETE FROM secret_selectors WHERE selector = ANY(\(removing.map(\.description)))", logger: logger)
        }
    }

    public func secretKeepingPolicy() async throws -> SecretKeepingPolicy? {
        let logger = logger
        return try await pool.withConnection { connection in
            let selectors = try await Self.secretSelectors(on: connection, logger: logger)
            guard !selectors.isEmpty else { return nil }
            var key: SecretKeepingKey?
            let rows = try await connection.query(
                "SELECT fingerprint, public_key FROM secret_keeping WHERE id = 1 AND enabled", logger: logger)
            for try await (fingerprint, publicKey) in rows.decode((String, String).self) {
                key = SecretKeepingKey(fingerprint: fingerprint, publicKey: publicKey)
            }
            return SecretKeepingPolicy(key: key, selectors: selectors.map(\.description))
        }
    }

    public func appendSecretAccess(_ entry: SecretAccessEntry) async throws {
        try await pool.query(
            """
            INSERT INTO secret_access_log (at, action, "user", sudo_user, hosts, selectors, outcome)
            VALUES (\(entry.at), \(entry.action), \(entry.user), \(entry.sudoUser), \(SecretAccessEntry.storedList(entry.hosts)),
                    \(SecretAccessEntry.storedList(entry.selectors)), \(entry.outcome))
            """, logger: logger)
    }

    public func secretAccessLog(limit: Int) async throws -> [SecretAccessEntry] {
        let rows = try await pool.query(
            """
            SELECT at, action, "user", sudo_user, hosts, selectors, outcome FROM secret_access_log
            ORDER BY id DESC LIMIT \(Int64(max(limit, 0)))
            """, logger: logger)
        var entries: [SecretAccessEntry] = []
        for try await row in rows.decode((Date, String, String, String?, String, String, String).self) {
            entries.append(
                SecretAccessEntry(
                    at: row.0, action: row.1, user: row.2, sudoUser: row.3, hosts: SecretAccessEntry.list(stored: row.4),
                    selectors: SecretAccessEntry.list(stored: row.5), outcome: row.6))
        }
        return entries.reversed()
    }

    public func rewriteDocuments(
        of devices: [Device], redactingHistory: [SecretSelector],
        _ transform: @Sendable (Device, JSONValue) throws -> JSONValue?
    ) async throws -> Int {
        let logger = logger
        var changed = 0
        for device in devices {
            let rewritten = try await transaction { connection in
                let before = try await Self.rewriteDocument(of: device, on: connection, logger: logger, transform)
                try await Self.redactHistory(of: device.fingerprint, under: redactingHistory, on: connection, logger: logger)
                for text in HistoryRedaction.quotedTexts(of: redactingHistory, in: before.document) {
                    try await connection.query(
                        """
                        UPDATE issues SET detail = \(HistoryRedaction.redactedDetail)
                        WHERE fingerprint = \(device.fingerprint) AND strpos(detail, \(text)) > 0
                        """, logger: logger)
                }
                return before.rewritten
            }
            if rewritten { changed += 1 }
        }
        // PostgreSQL keeps replaced row versions until VACUUM; the secret is gone from every
        // answer at once, and from the files once the table is vacuumed (docs/scaling.md).
        return changed
    }

    /// Returns whether the document changed, and the document as it was. The device's row is
    /// locked, so a submission of this device waits and then sees the rewritten document.
    private static func rewriteDocument(
        of device: Device, on connection: PostgresConnection, logger: Logger,
        _ transform: (Device, JSONValue) throws -> JSONValue?
    ) async throws -> (rewritten: Bool, document: JSONValue?) {
        try await connection.query("SELECT 1 FROM devices WHERE fingerprint = \(device.fingerprint) FOR NO KEY UPDATE", logger: logger)
        guard let text = try await documentText(fingerprint: device.fingerprint, on: connection, logger: logger) else {
            return (false, nil)
        }
        let document = try JSONValue.parse(Data(text.utf8), limits: .storedData)
        guard let replacement = try transform(device, document) else { return (false, document) }
        try await connection.query(
            "UPDATE documents SET document = \(replacement.serializedString) WHERE fingerprint = \(device.fingerprint)",
            logger: logger)
        return (true, document)
    }

    /// Every clear value at or below the selectors in a device's history becomes a withheld secret.
    private static func redactHistory(
        of fingerprint: String, under selectors: [SecretSelector], on connection: PostgresConnection, logger: Logger
    ) async throws {
        for selector in selectors {
            let path = selector.description
            var rows: [(Int64, String?, String?)] = []
            for try await row in try await connection.query(
                """
                SELECT id, old, new FROM changes
                WHERE fingerprint = \(fingerprint) AND (path = \(path) OR starts_with(path, \(path + ".")))
                """, logger: logger
            ).decode((Int64, String?, String?).self) {
                rows.append(row)
            }
            for (id, old, new) in rows {
                try await connection.query(
                    """
                    UPDATE changes SET old = \(old.map(HistoryRedaction.redacted)), new = \(new.map(HistoryRedaction.redacted))
                    WHERE id = \(id)
                    """, logger: logger)
            }
        }
    }
}
