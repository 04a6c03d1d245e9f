import Foundation
import PostgresNIO

extension PostgresStore: WakeChannel {
    /// The channel every server process of an installation listens on.
    static let wakeChannel = "rookery_wake"

    /// The payload is this store's tag and the key: a process hears its own announcements too,
    /// and skips them (it woke its own waiters already).
    public func announce(_ key: String) async throws {
        try await pool.query("SELECT pg_notify(\(Self.wakeChannel), \(wakeTag + " " + key))", logger: logger)
    }

    /// Holds one of the pool's connections while it listens.
    public func listen(_ heard: @escaping @Sendable (String) -> Void) async throws {
        let tag = wakeTag
        try await pool.withConnection { connection in
            try await connection.listen(on: Self.wakeChannel) { notifications in
                for try await notification in notifications {
                    let parts = notification.payload.split(separator: " ", maxSplits: 1)
                    guard parts.count == 2, parts[0] != tag else { continue }
                    heard(String(parts[1]))
                }
            }
        }
    }
}
