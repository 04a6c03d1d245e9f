import Foundation
import Logging
import PostgresNIO
import RookeryCore

/// The PostgreSQL store (issue 18), for several server processes on several hosts sharing one
/// database: every part of `Store`, each tested against the same contract as `SQLiteStore`.
/// Where SQLite's single writer serialises decisions, these take a row lock or an advisory
/// lock (enrollment, renames, the secret selectors, a device's submissions, a shell session).
/// Lists sort hostnames by their bytes (`COLLATE "C"`), as SQLite does, whatever the
/// database's locale.
public final class PostgresStore: Store, Sendable {
    let pool: PostgresPool
    var logger: Logger { pool.logger }
    public let migrationsAppliedOnOpening: [String]
    /// Names this store's announcements on the wake channel (see `WakeChannel`).
    let wakeTag = UUID().uuidString

    /// Opens the pool and brings the schema to this binary's migrations.
    public init(pool: PostgresPool) async throws {
        self.pool = pool
        migrationsAppliedOnOpening = try await PostgresMigrations.migrate(pool)
    }

    public func schemaState() async throws -> SchemaState {
        try await PostgresMigrations.schemaState(pool)
    }

    func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await pool.transaction(body)
    }

    /// PostgreSQL's text cannot hold U+0000, which a device may put in a key of its document (a
    /// history row's path) or a shell refusal's reason: it is stored as U+FFFD. (Documents and
    /// history values are JSON text, where it is an escape and stays as it came.)
    static func storable(_ text: String) -> String {
        text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text
    }

    /// Serialises the transactions that compare hostnames and machine ids across devices
    /// (enrollment, rename): two clones enrolling at the same moment must see each other, which
    /// PostgreSQL's default isolation does not promise. Held until the transaction ends.
    static let deviceNamesLock: Int64 = 0x726F_6F6B_6E61_6D65  // "rooknames"
}
