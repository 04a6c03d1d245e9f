import Foundation
import PostgresNIO

extension PostgresStore: AgentWakeupStore {
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
