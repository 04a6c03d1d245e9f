import Foundation
import PostgresNIO

extension PostgresStore: GuessAttemptStore {
    /// The class of the per-key advisory locks (with the key's hash as the second half): two
    /// processes counting the same key's attempts take turns, so neither lets through one more
    /// than `limit`.
    static let guessLockClass: Int32 = 0x6775_6573  // "gues"

    public func countGuess(key: String, limit: Int, window: TimeInterval, now: Date) async throws -> Int64? {
        let cutoff = now.addingTimeInterval(-window)
        return try await transaction { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.guessLockClass), hashtext(\(key)))", logger: logger)
            try await connection.query("DELETE FROM guess_attempts WHERE at <= \(cutoff)", logger: logger)
            let counted = try await connection.query(
                "SELECT count(*) FROM guess_attempts WHERE key = \(key)", logger: logger
            ).single(Int64.self)
            guard (counted ?? 0) < Int64(limit) else { return nil }
            return try await connection.query(
                "INSERT INTO guess_attempts (key, at) VALUES (\(key), \(now)) RETURNING id", logger: logger
            ).single(Int64.self)
        }
    }

    public func uncountGuess(id: Int64) async throws {
        try await pool.query("DELETE FROM guess_attempts WHERE id = \(id)", logger: logger)
    }
}
