import Foundation

/// Wake-ups for devices' waiting polls, shared by every server process on the database: whoever
/// queues something for a device (a patch, a shell) adds one in the same transaction.
public protocol AgentWakeupStore: Sendable {
    /// The newest wake-up's id (0: none yet): where a watcher starts.
    func latestAgentWakeupID() async throws -> Int64
    /// The wake-ups after `id`, oldest first, at most `limit`.
    func agentWakeups(after id: Int64, limit: Int) async throws -> [AgentWakeup]
}

/// One row of `agent_wakeups`.
public struct AgentWakeup: Sendable, Equatable {
    public var id: Int64
    public var fingerprint: String
}
