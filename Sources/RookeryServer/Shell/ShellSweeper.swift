import Foundation
import Logging
import RookeryCore

/// Every `interval`, closes the shell sessions nobody used for `shell_idle_seconds` and those
/// the device did not answer within `shell_open_seconds`, deletes frames left in sessions closed a
/// minute ago and old agent wake-ups. Each server process sweeps; the closes are idempotent.
public struct ShellSweeper: Sendable {
    let store: any Store
    let policy: ShellSweepPolicy
    let waiters: ShellWaiters
    let logger: Logger
    public static let interval = Duration.seconds(10)

    public init(context: ServerContext, logger: Logger) {
        store = context.store
        policy = ShellSweepPolicy(
            idleSeconds: context.settings.shellIdleSeconds, unansweredSeconds: context.settings.shellOpenSeconds)
        waiters = context.shell.waiters
        self.logger = logger
    }

    /// One sweep; returns what it closed.
    @discardableResult
    public func sweep(now: Date = Date()) async throws -> [ShellSweepClosure] {
        let closed = try await store.sweepShellSessions(policy, now: now)
        for closure in closed {
            waiters.wake(ShellWaiters.state(closure.id))
            for direction in ShellDirection.allCases { waiters.wake(ShellWaiters.frames(closure.id, direction)) }
            let record = try await store.shellSession(id: closure.id)
            logger.notice(
                "shell closed",
                metadata: [
                    "session": "\(closure.id)", "by": "server sweep", "device": "\(closure.fingerprint)",
                    "opened_by": "\(LogText.escaped(record?.openedBy ?? "?"))", "reason": "\(closure.reason)",
                    "bytes_to_device": "\(record?.bytesToDevice ?? 0)", "bytes_to_admin": "\(record?.bytesToAdmin ?? 0)"
                ])
        }
        return closed
    }

    /// Sweeps until the task is cancelled; a failed sweep is logged and tried again next time.
    public func run() async {
        while !Task.isCancelled {
            do {
                try await sweep()
            } catch {
                logger.warning("shell sweep failed: \(error)")
            }
            try? await Task.sleep(for: Self.interval)
        }
    }
}
