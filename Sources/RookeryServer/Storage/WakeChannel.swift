import Foundation

/// Wakes what waits in the other server processes sharing the database (issue 18): a frame sent,
/// a session answered or closed, a shell opened, through one process, wakes the long poll or the
/// receive waiting on it in another at once, instead of at its next look. PostgreSQL's
/// LISTEN/NOTIFY; a store without it (SQLite: one host) leaves waiters elsewhere to their looks.
/// A lost announcement costs only time: every waiter still looks at the database on its own.
public protocol WakeChannel: Sendable {
    /// Tells the processes listening that what `key` names changed (after the change committed).
    func announce(_ key: String) async throws
    /// Hands `heard` each key another process announced, until the task is cancelled or the
    /// connection fails (then it throws; the caller listens again).
    func listen(_ heard: @escaping @Sendable (String) -> Void) async throws
}
