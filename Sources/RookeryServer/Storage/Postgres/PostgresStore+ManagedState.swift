import Foundation
import PostgresNIO
import RookeryCore

extension PostgresStore {
    public func recordManagedConfig(_ config: AppliedManagedConfig) async throws {
        let files = config.files
        try await pool.query(
            """
            INSERT INTO managed_configs (applied_at, applied_by, settings_text, firewall_text, access_text)
            VALUES (\(config.appliedAt), \(Self.storable(config.appliedBy)), \(files.settings.map(Self.storable)),
                    \(files.firewall.map(Self.storable)), \(files.access.map(Self.storable)))
            """, logger: logger)
    }

    public func managedConfig() async throws -> AppliedManagedConfig? {
        let rows = try await pool.query(
            "SELECT applied_at, applied_by, settings_text, firewall_text, access_text FROM managed_configs ORDER BY id DESC LIMIT 1",
            logger: logger)
        for try await row in rows.decode((Date, String, String?, String?, String?).self) {
            return AppliedManagedConfig(
                files: ManagedConfigFiles(settings: row.2, firewall: row.3, access: row.4), appliedBy: row.1, appliedAt: row.0)
        }
        return nil
    }

    public func managedStateDigests() async throws -> [String: String] {
        var digests: [String: String] = [:]
        for try await row in try await pool.query("SELECT fingerprint, sha256 FROM managed_states", logger: logger).decode(
            (String, String).self)
        {
            digests[row.0] = row.1
        }
        return digests
    }

    public func managedState(fingerprint: String) async throws -> String? {
        for try await state in try await pool.query(
            "SELECT state FROM managed_states WHERE fingerprint = \(fingerprint)", logger: logger
        ).decode(String.self) {
            return state
        }
        return nil
    }

    public func writeManagedStates(_ states: [String: ManagedState], at: Date) async throws {
        // In key order, so two hosts writing at once take their row locks in one order.
        let rows = try states.sorted { $0.key < $1.key }.map { ($0.key, try ManagedStateText.encode($0.value), $0.value.sha256) }
        let logger = logger
        try await transaction { connection in
            for (fingerprint, state, sha256) in rows {
                try await connection.query(
                    """
                    INSERT INTO managed_states (fingerprint, state, sha256, rendered_at)
                    SELECT \(fingerprint), \(state), \(sha256), \(at) WHERE EXISTS (SELECT 1 FROM devices WHERE fingerprint = \(fingerprint))
                    ON CONFLICT (fingerprint) DO UPDATE SET state = excluded.state, sha256 = excluded.sha256,
                        rendered_at = excluded.rendered_at
                    """, logger: logger)
            }
        }
    }
}
