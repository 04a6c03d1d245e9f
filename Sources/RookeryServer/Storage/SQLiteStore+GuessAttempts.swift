import Foundation
import GRDB

extension SQLiteStore {
    public func recentGuesses(key: String, window: TimeInterval, now: Date) async throws -> Int {
        let cutoff = now.addingTimeInterval(-window)
        return try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM guess_attempts WHERE key = ? AND at > ?", arguments: [key, cutoff]) ?? 0
        }
    }

    public func recordGuess(key: String, window: TimeInterval, now: Date) async throws {
        let cutoff = now.addingTimeInterval(-window)
        try await pool.write { db in
            try db.execute(sql: "INSERT INTO guess_attempts (key, at) VALUES (?, ?)", arguments: [key, now])
            try db.execute(sql: "DELETE FROM guess_attempts WHERE at <= ?", arguments: [cutoff])
        }
    }
}
