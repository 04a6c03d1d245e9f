import Foundation

/// Guesses of passwords and enrollment tokens, counted in the database so that every server
/// process sharing it counts the same attempts (issue 18): an address that spreads its guesses
/// over several hosts gets no more of them than it would from one. `FailureLimiter` asks here
/// only after its own count in memory let the attempt through, so a stranger causes at most one
/// such write per attempt its process would have checked anyway.
public protocol GuessAttemptStore: Sendable {
    /// Counts an attempt of `key` at `now`, unless `limit` attempts of it were counted in the
    /// `window` before; the attempt's id, or nil (counting nothing) when refused. Attempts of any
    /// key older than `window` are dropped on the way, so the table holds what the windows hold.
    func countGuess(key: String, limit: Int, window: TimeInterval, now: Date) async throws -> Int64?
    /// Uncounts an attempt whose check succeeded.
    func uncountGuess(id: Int64) async throws
}
