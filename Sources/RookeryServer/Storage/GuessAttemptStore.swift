import Foundation

/// Failed guesses of passwords and enrollment tokens, counted in the database so that every
/// server process sharing it counts the same ones (issue 18): an address that spreads its guesses
/// over several hosts gets no more of them than from one. `FailureLimiter` reads the count before
/// a check (a read, not a write: an admin whose client sends credentials with every call costs no
/// write) and adds a row only when a check failed, so the rows are bounded by the failed checks
/// the servers did (each a PBKDF2 or a token compare), kept for the window.
public protocol GuessAttemptStore: Sendable {
    /// Failed guesses of `key` counted in the `window` before `now`.
    func recentGuesses(key: String, window: TimeInterval, now: Date) async throws -> Int
    /// Counts a failed guess of `key` at `now`, and drops some rows older than `window` on the way.
    func recordGuess(key: String, window: TimeInterval, now: Date) async throws
}
