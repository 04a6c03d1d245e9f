import Foundation
import GRDB
import RookeryCore

extension SQLiteStore {
    public func addException(_ exception: CheckException) async throws -> CheckException {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE check_exceptions SET until = ?3 WHERE fingerprint = ?1 AND check_name = ?2 AND until > ?3",
                arguments: [exception.fingerprint, exception.check, exception.createdAt])
            try db.execute(
                sql: """
                    INSERT INTO check_exceptions (fingerprint, check_name, reason, created_by, created_at, until)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    exception.fingerprint, exception.check, exception.reason, exception.createdBy, exception.createdAt,
                    exception.until
                ])
            var stored = exception
            stored.id = db.lastInsertedRowID
            return stored
        }
    }

    public func endExceptions(fingerprint: String, check: String, at: Date) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE check_exceptions SET until = ?3 WHERE fingerprint = ?1 AND check_name = ?2 AND until > ?3",
                arguments: [fingerprint, check, at])
            return db.changesCount
        }
    }

    public func exceptions(fingerprint: String?, runningAt: Date?) async throws -> [CheckException] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM check_exceptions
                    WHERE (?1 IS NULL OR fingerprint = ?1) AND (?2 IS NULL OR until > ?2)
                    ORDER BY fingerprint, check_name, id
                    """, arguments: [fingerprint, runningAt]
            ).map {
                CheckException(
                    id: $0["id"], fingerprint: $0["fingerprint"], check: $0["check_name"], reason: $0["reason"],
                    createdBy: $0["created_by"], createdAt: $0["created_at"], until: $0["until"])
            }
        }
    }
}
