import Foundation
import Logging
import RookeryCore

/// What every port of one server process shares for shells and polls: the wake-ups, the watcher
/// of other processes' wake-ups, and each device's newest waiting poll.
public struct ShellProcessState: Sendable {
    public let waiters: ShellWaiters
    let watcher: AgentWakeupWatcher
    /// By device fingerprint: the ticket of its newest poll waiting in this process.
    let newestPolls = Locked<[String: ShellWaiters.Ticket]>([:])

    /// The other processes' announcements, on PostgreSQL; nil on SQLite.
    let channel: (any WakeChannel)?
    let logger: Logger

    init(store: any AgentWakeupStore, logger: Logger = Logger(label: "rookery")) {
        let channel = store as? any WakeChannel
        var announce: (@Sendable (String) -> Void)?
        if let channel {
            announce = { key in Task { try? await channel.announce(key) } }
        }
        waiters = ShellWaiters(announce: announce)
        watcher = AgentWakeupWatcher(store: store, waiters: waiters, logger: logger)
        self.channel = channel
        self.logger = logger
    }

    /// Wakes this process's waiters on what the other processes announce, for as long as the
    /// calling task runs (the server's); listens again a second after the connection fails.
    public func listenToOtherProcesses() async {
        guard let channel else { return }
        let waiters = self.waiters
        while !Task.isCancelled {
            do {
                try await channel.listen { key in waiters.wakeHere(key) }
            } catch {
                if Task.isCancelled { return }
                logger.warning("not hearing other server processes' wake-ups (\(error)); listening again in 1 s")
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
