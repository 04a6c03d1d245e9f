import Foundation
import GRDB

extension SQLiteStore {
    /// SQLite's one writer serialises the count and the insert.
    public func countGuess(key: String, limit: Int, window: TimeInterval, now: Date) async throws -> Int64? {
        let cutoff = now.addingTimeInterval(-window)
        return try await pool.write { db in
            try db.execute(sql: "DELETE FROM guess_attempts WHERE at <= ?", arguments: [cutoff])
            let counted = try Int.fetchOne(db, sql: "SELECT count(*) FROM guess_attempts WHERE key = ?", arguments: [key]) ?? 0
            guard counted < limit else { return nil }
            try db.execute(sql: "INSERT INTO guess_attempts (key, at) VALUES (?, ?)", arguments: [key, now])
            return db.lastInsertedRowID
        }
    }

    public func uncountGuess(id: Int64) async throws {
        try await pool.write { db in try db.execute(sql: "DELETE FROM guess_attempts WHERE id = ?", arguments: [id]) }
    }
}
