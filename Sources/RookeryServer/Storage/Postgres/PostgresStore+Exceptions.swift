import Foundation
import PostgresNIO
import RookeryCore

extension PostgresStore {
    public func addException(_ exception: CheckException) async throws -> CheckException {
        let logger = logger
        return try await transaction { connection in
            try await connection.query(
                """
                UPDATE check_exceptions SET until = \(exception.createdAt)
                WHERE fingerprint = \(exception.fingerprint) AND check_name = \(exception.check) AND until > \(exception.createdAt)
                """, logger: logger)
            let rows = try await connection.query(
                """
                INSERT INTO check_exceptions (fingerprint, check_name, reason, created_by, created_at, until)
                VALUES (\(exception.fingerprint), \(exception.check), \(Self.storable(exception.reason)),
                        \(Self.storable(exception.createdBy)), \(exception.createdAt), \(exception.until))
                RETURNING id
                """, logger: logger)
            var stored = exception
            for try await id in rows.decode(Int64.self) { stored.id = id }
            return stored
        }
    }

    public func endExceptions(fingerprint: String, check: String, at: Date) async throws -> Int {
        try await count(
            """
            UPDATE check_exceptions SET until = \(at)
            WHERE fingerprint = \(fingerprint) AND check_name = \(check) AND until > \(at)
            RETURNING id
            """)
    }

    public func exceptions(fingerprint: String?, runningAt: Date?) async throws -> [CheckException] {
        let rows = try await pool.query(
            """
            SELECT id, fingerprint, check_name, reason, created_by, created_at, until FROM check_exceptions
            WHERE (\(fingerprint)::text IS NULL OR fingerprint = \(fingerprint))
              AND (\(runningAt)::timestamptz IS NULL OR until > \(runningAt))
            ORDER BY fingerprint, check_name COLLATE "C", id
            """, logger: logger)
        var exceptions: [CheckException] = []
        for try await row in rows.decode((Int64, String, String, String, String, Date, Date).self) {
            exceptions.append(
                CheckException(
                    id: row.0, fingerprint: row.1, check: row.2, reason: row.3, createdBy: row.4, createdAt: row.5, until: row.6))
        }
        return exceptions
    }
}
