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

    init(store: any AgentWakeupStore, logger: Logger = Logger(label: "rookery")) {
        waiters = ShellWaiters()
        watcher = AgentWakeupWatcher(store: store, waiters: waiters, logger: logger)
    }
}
