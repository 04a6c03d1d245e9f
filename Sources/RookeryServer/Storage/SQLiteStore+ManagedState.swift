import Foundation
import GRDB
import RookeryCore

extension SQLiteStore {
    public func recordManagedConfig(_ config: AppliedManagedConfig) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO managed_configs (applied_at, applied_by, settings_text, firewall_text, access_text)
                    VALUES (?, ?, ?, ?, ?)
                    """,
                arguments: [config.appliedAt, config.appliedBy, config.files.settings, config.files.firewall, config.files.access])
        }
    }

    public func managedConfig() async throws -> AppliedManagedConfig? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM managed_configs ORDER BY id DESC LIMIT 1").map {
                AppliedManagedConfig(
                    files: ManagedConfigFiles(settings: $0["settings_text"], firewall: $0["firewall_text"], access: $0["access_text"]),
                    appliedBy: $0["applied_by"], appliedAt: $0["applied_at"])
            }
        }
    }

    public func managedStateDigests() async throws -> [String: String] {
        try await pool.read { db in
            Dictionary(
                uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT fingerprint, sha256 FROM managed_states").map {
                    ($0["fingerprint"] as String, $0["sha256"] as String)
                })
        }
    }

    public func managedState(fingerprint: String) async throws -> String? {
        try await pool.read { db in
            try String.fetchOne(db, sql: "SELECT state FROM managed_states WHERE fingerprint = ?", arguments: [fingerprint])
        }
    }

    public func writeManagedStates(_ states: [String: ManagedState], at: Date) async throws {
        // In key order, so two hosts writing at once take their row locks in one order.
        let rows = try states.sorted { $0.key < $1.key }.map { ($0.key, try ManagedStateText.encode($0.value), $0.value.sha256) }
        try await pool.write { db in
            for (fingerprint, state, sha256) in rows {
                // A device forgotten since the render has no row to write.
                try db.execute(
                    sql: """
                        INSERT INTO managed_states (fingerprint, state, sha256, rendered_at)
                        SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM devices WHERE fingerprint = ?1)
                        ON CONFLICT (fingerprint) DO UPDATE SET state = excluded.state, sha256 = excluded.sha256,
                            rendered_at = excluded.rendered_at
                        """,
                    arguments: [fingerprint, state, sha256, at])
            }
        }
    }
}

/// A `ManagedState` as the database keeps it and the update answer reads it back.
enum ManagedStateText {
    static func encode(_ state: ManagedState) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(state), as: UTF8.self)
    }

    static func decode(_ text: String) throws -> ManagedState {
        try JSONDecoder().decode(ManagedState.self, from: Data(text.utf8))
    }
}
