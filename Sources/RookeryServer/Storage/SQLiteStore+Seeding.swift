import Foundation
import GRDB
import RookeryCore

extension SQLiteStore: StoreSeeding {
    package func seed(_ fleet: [(device: Device, document: JSONValue)]) async throws {
        try await pool.write { db in
            for (device, document) in fleet {
                try db.execute(
                    sql: """
                        INSERT INTO devices (fingerprint, public_key, hostname, machine_id, state, enrolled_at,
                                             accepted_at, last_submission_at, flags)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, '[]')
                        """,
                    arguments: [
                        device.fingerprint, device.publicKey, device.hostname, device.machineID,
                        device.state.rawValue, device.enrolledAt, device.acceptedAt, device.lastSubmissionAt
                    ])
                try db.execute(
                    sql: """
                        INSERT INTO documents (fingerprint, document, updated_at, failed_plugins) VALUES (?, ?, ?, ?)
                        """,
                    arguments: [
                        device.fingerprint, document.serializedString,
                        device.lastSubmissionAt ?? device.enrolledAt, SubmissionWrite.failedPlugins(of: document)
                    ])
            }
        }
    }

    package func databaseBytes() async throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: pool.path)[.size] as? Int) ?? 0
    }

    package func updateStatistics() async throws {
        try await pool.write { db in try db.execute(sql: "ANALYZE") }
    }
}
