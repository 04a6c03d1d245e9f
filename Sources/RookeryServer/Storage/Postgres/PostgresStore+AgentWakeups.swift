import Foundation
import PostgresNIO

extension PostgresStore: AgentWakeupStore {
    /// Taken by every transaction that adds a wake-up, until it ends.
    static let agentWakeupsLock: Int64 = 0x726F_6F6B_7761_6B65  // "rookwake"

    /// Adds a wake-up inside the transaction that queued something for the device. A sequence
    /// hands out ids when rows are inserted, not when they commit: without the lock, a later
    /// transaction could commit a higher id first, a watcher read on past it, and the lower one,
    /// committed after, never wake its poll. Under the lock, ids commit in their order. (Only
    /// what an admin queues takes it: patches, commands, shells.)
    static func recordAgentWakeup(fingerprint: String, at: Date, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(\(agentWakeupsLock))", logger: logger)
        try await connection.query("INSERT INTO agent_wakeups (fingerprint, at) VALUES (\(fingerprint), \(at))", logger: logger)
    }

    public func latestAgentWakeupID() async throws -> Int64 {
        try await pool.query("SELECT coalesce(max(id), 0) FROM agent_wakeups", logger: logger).single(Int64.self) ?? 0
    }

    public func agentWakeups(after id: Int64, limit: Int) async throws -> [AgentWakeup] {
        var wakeups: [AgentWakeup] = []
        let rows = try await pool.query(
            "SELECT id, fingerprint FROM agent_wakeups WHERE id > \(id) ORDER BY id LIMIT \(max(limit, 0))", logger: logger)
        for try await (id, fingerprint) in rows.decode((Int64, String).self) {
            wakeups.append(AgentWakeup(id: id, fingerprint: fingerprint))
        }
        return wakeups
    }
}
