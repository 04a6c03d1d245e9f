import Foundation
import GRDB

extension SQLiteStore {
    public func latestAgentWakeupID() async throws -> Int64 {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT max(id) FROM agent_wakeups") ?? 0 }
    }

    public func agentWakeups(after id: Int64, limit: Int) async throws -> [AgentWakeup] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT id, fingerprint FROM agent_wakeups WHERE id > ? ORDER BY id LIMIT ?",
                arguments: [id, max(limit, 0)]
            ).map { AgentWakeup(id: $0["id"], fingerprint: $0["fingerprint"]) }
        }
    }

    /// Inside the transaction that queued something for the device.
    static func recordAgentWakeup(fingerprint: String, at: Date, in db: Database) throws {
        try db.execute(sql: "INSERT INTO agent_wakeups (fingerprint, at) VALUES (?, ?)", arguments: [fingerprint, at])
    }
}
