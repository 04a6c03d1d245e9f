import GRDB

extension SQLiteStore {
    public func acceptedDevices(reportingOn port: Int) async throws -> [Device] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM devices WHERE state = 'accepted' AND last_port = ? ORDER BY hostname, fingerprint
                    """, arguments: [port]
            ).map(Self.device(from:))
        }
    }
}
