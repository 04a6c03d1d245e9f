import Foundation
import Logging
import PostgresNIO
import RookeryCore

/// The PostgreSQL store (issue 18), for several server processes on several hosts sharing one
/// database. It is built one part of `Store` at a time, each tested against the same contract
/// as `SQLiteStore`; so far: `DeviceStore`, `PatchStore`, `AgentWakeupStore` and the schema's state. Until it is whole, a server
/// refuses a postgresql:// database (`AdminContext.openStore`). Lists sort hostnames by their
/// bytes (`COLLATE "C"`), as SQLite does, whatever the database's locale.
public final class PostgresStore: Sendable {
    let pool: PostgresPool
    var logger: Logger { pool.logger }

    /// Opens the pool and brings the schema to this binary's migrations.
    public init(pool: PostgresPool) async throws {
        self.pool = pool
        try await PostgresMigrations.migrate(pool)
    }

    public func schemaState() async throws -> SchemaState {
        try await PostgresMigrations.schemaState(pool)
    }

    func transaction<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await pool.transaction(body)
    }

    /// Serialises the transactions that compare hostnames and machine ids across devices
    /// (enrollment, rename): two clones enrolling at the same moment must see each other, which
    /// PostgreSQL's default isolation does not promise. Held until the transaction ends.
    static let deviceNamesLock: Int64 = 0x726F_6F6B_6E61_6D65  // "rooknames"
}
