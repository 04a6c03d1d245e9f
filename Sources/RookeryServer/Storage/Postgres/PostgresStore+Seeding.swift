import Foundation
import PostgresNIO
import RookeryCore

extension PostgresStore: StoreSeeding {
    /// One statement per table for the whole batch: the columns go as arrays and UNNEST turns
    /// them back into rows (a thousand single-row INSERTs would cost a round trip each).
    package func seed(_ fleet: [(device: Device, document: JSONValue)]) async throws {
        let devices = fleet.map(\.device)
        let fingerprints = devices.map(\.fingerprint)
        // Times as text, cast by PostgreSQL: an absent one is the empty string, read as NULL.
        let time = { (date: Date?) in date.map { String(format: "%.6f", $0.timeIntervalSince1970) } ?? "" }
        try await transaction { connection in
            try await connection.query(
                """
                INSERT INTO devices (fingerprint, public_key, hostname, machine_id, state, enrolled_at, accepted_at,
                                     last_submission_at)
                SELECT f, k, h, m, s, to_timestamp(e::float8), to_timestamp(NULLIF(a, '')::float8),
                       to_timestamp(NULLIF(l, '')::float8)
                FROM UNNEST(\(fingerprints), \(devices.map(\.publicKey)), \(devices.map(\.hostname)),
                            \(devices.map(\.machineID)), \(devices.map(\.state.rawValue)),
                            \(devices.map { time($0.enrolledAt) }), \(devices.map { time($0.acceptedAt) }),
                            \(devices.map { time($0.lastSubmissionAt) })) AS u(f, k, h, m, s, e, a, l)
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO documents (fingerprint, document, updated_at, failed_plugins)
                SELECT f, d, to_timestamp(t::float8), p
                FROM UNNEST(\(fingerprints), \(fleet.map(\.document.serializedString)),
                            \(devices.map { time($0.lastSubmissionAt ?? $0.enrolledAt) }),
                            \(fleet.map { SubmissionWrite.failedPlugins(of: $0.document) })) AS u(f, d, t, p)
                """, logger: logger)
        }
    }

    package func databaseBytes() async throws -> Int {
        Int(try await pool.query("SELECT pg_database_size(current_database())", logger: logger).single(Int64.self) ?? 0)
    }

    /// Also after `bin/migrate_store` fills a database at once.
    package func updateStatistics() async throws {
        try await pool.execute(unsafeSQL: "ANALYZE")
    }
}
