import Foundation
import PostgresNIO

extension PostgresStore: GuessAttemptStore {
    public func recentGuesses(key: String, window: TimeInterval, now: Date) async throws -> Int {
        let cutoff = now.addingTimeInterval(-window)
        let counted = try await pool.query(
            "SELECT count(*) FROM guess_attempts WHERE key = \(key) AND at > \(cutoff)", logger: logger
        ).single(Int64.self)
        return Int(counted ?? 0)
    }

    /// Expired rows go a hundred at a time, skipping any another process is deleting: no
    /// transaction waits for another's.
    public func recordGuess(key: String, window: TimeInterval, now: Date) async throws {
        let cutoff = now.addingTimeInterval(-window)
        try await pool.withConnection { connection in
            try await connection.query("INSERT INTO guess_attempts (key, at) VALUES (\(key), \(now))", logger: logger)
            try await connection.query(
                """
                DELETE FROM guess_attempts WHERE id IN (
                    SELECT id FROM guess_attempts WHERE at <= \(cutoff) LIMIT 100 FOR UPDATE SKIP LOCKED)
                """, logger: logger)
        }
    }
}
