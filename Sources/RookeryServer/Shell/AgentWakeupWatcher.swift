import Foundation
import Logging
import RookeryCore

/// While polls wait in this process, reads `agent_wakeups` every `interval` and wakes the polls of
/// the devices named there: what another process queued (a patch from bin/patch_hosts, a shell
/// opened through another server process) reaches a poll waiting here within that time. No poll
/// waiting, no reads: the watcher stops, and starts again with the next poll.
final class AgentWakeupWatcher: Sendable {
    private struct Watching: Sendable {
        var polls = 0
        var running = false
    }

    let store: any AgentWakeupStore
    let waiters: ShellWaiters
    let interval: Duration
    let logger: Logger
    private let watching = Locked(Watching())

    init(store: any AgentWakeupStore, waiters: ShellWaiters, interval: Duration = .milliseconds(250), logger: Logger) {
        self.store = store
        self.waiters = waiters
        self.interval = interval
        self.logger = logger
    }

    /// A poll starts waiting. `since`: the newest wake-up id the poll read before it looked at the
    /// database itself; anything after it reaches the poll.
    func begin(since: Int64) {
        let start = watching.withLock { state -> Bool in
            state.polls += 1
            guard !state.running else { return false }
            state.running = true
            return true
        }
        if start { Task { await watch(from: since) } }
    }

    func end() {
        watching.withLock { $0.polls -= 1 }
    }

    private func watch(from start: Int64) async {
        var last = start
        while true {
            try? await Task.sleep(for: interval)
            let stop = watching.withLock { state -> Bool in
                if state.polls <= 0 { state.running = false }
                return !state.running
            }
            if stop { return }
            do {
                let wakeups = try await store.agentWakeups(after: last, limit: 1000)
                for fingerprint in Set(wakeups.map(\.fingerprint)) { waiters.wake(ShellWaiters.device(fingerprint)) }
                last = wakeups.last?.id ?? last
            } catch {
                logger.warning("cannot read agent wake-ups: \(error)")
            }
        }
    }
}
