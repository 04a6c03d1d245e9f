import Foundation
import RookeryCore

/// In-process wake-ups for long polls that wait on the database: a request that changed what a
/// key names (frames of a session's direction, a session's state, a device) wakes whoever waits
/// on it in this process at once, and `announce` tells the other processes sharing the database
/// (see `WakeChannel`); without that, waiters there see the change when they look again.
/// Waiting holds no thread: a sleeping waiter is a continuation, resumed by a wake or its timeout.
///
/// A waiter registers before it looks at the database, so a wake between its look and its sleep
/// is not lost; keys live only while someone is registered on them.
public final class ShellWaiters: Sendable {
    /// One registered waiter.
    public struct Ticket: Sendable, Hashable {
        let key: String
        let id: UInt64
    }

    private struct Slot {
        /// Woken while not asleep: the next sleep returns at once.
        var woken = false
        var continuation: CheckedContinuation<Void, Never>?
    }

    private struct Waiting: Sendable {
        var slots: [String: [UInt64: Slot]] = [:]
        var lastID: UInt64 = 0
        var stopped = false
    }

    private let waiting = Locked(Waiting())
    private let announce: (@Sendable (String) -> Void)?

    /// `announce`: passes each key woken here on to the other server processes.
    public init(announce: (@Sendable (String) -> Void)? = nil) {
        self.announce = announce
    }

    public func register(_ key: String) -> Ticket {
        waiting.withLock { state in
            state.lastID &+= 1
            state.slots[key, default: [:]][state.lastID] = Slot()
            return Ticket(key: key, id: state.lastID)
        }
    }

    /// Ends the registration; a sleep in progress returns.
    public func unregister(_ ticket: Ticket) {
        let continuation = waiting.withLock { state in
            let slot = state.slots[ticket.key]?.removeValue(forKey: ticket.id)
            if state.slots[ticket.key]?.isEmpty == true { state.slots[ticket.key] = nil }
            return slot?.continuation
        }
        continuation?.resume()
    }

    /// Set once the server is shutting down: every sleep returns at once, and the long polls
    /// answer what they have instead of holding the shutdown up.
    public var isStopped: Bool { waiting.withLock { $0.stopped } }

    /// Wakes every waiter for good (the server is stopping).
    public func stopAll() {
        let woken = waiting.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.stopped = true
            var woken: [CheckedContinuation<Void, Never>] = []
            for key in state.slots.keys {
                for id in state.slots[key]!.keys {
                    if let continuation = state.slots[key]![id]!.continuation { woken.append(continuation) }
                    state.slots[key]![id]!.continuation = nil
                    state.slots[key]![id]!.woken = true
                }
            }
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Whether anyone in this process waits on `key`.
    public func isWaited(_ key: String) -> Bool { waiting.withLock { $0.slots[key] != nil } }

    /// Wakes every waiter registered on `key`, here and, announced, in the other processes.
    public func wake(_ key: String) {
        wakeHere(key)
        announce?(key)
    }

    /// Wakes every waiter registered on `key` in this process: sleeping ones now, the others at
    /// their next sleep.
    public func wakeHere(_ key: String) {
        let woken = waiting.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard var slots = state.slots[key] else { return [] }
            var woken: [CheckedContinuation<Void, Never>] = []
            for id in slots.keys {
                if let continuation = slots[id]?.continuation {
                    woken.append(continuation)
                    slots[id]?.continuation = nil
                } else {
                    slots[id]?.woken = true
                }
            }
            state.slots[key] = slots
            return woken
        }
        for continuation in woken { continuation.resume() }
    }

    /// Returns when the ticket's key is woken (at once if it was since the last sleep), after
    /// `timeout`, or when the task is cancelled; false when the time ran out. The timer ends
    /// with the sleep, so none lingers.
    @discardableResult
    public func sleep(_ ticket: Ticket, for timeout: Duration) async -> Bool {
        guard timeout > .zero, !isStopped else { return false }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            group.addTask {
                await self.waitForWake(ticket)
                return true
            }
            let woken = await group.next() ?? false
            group.cancelAll()
            return woken
        }
    }

    /// Returns when woken (at once if woken since the last sleep) or cancelled.
    private func waitForWake(_ ticket: Ticket) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Checked and stored under the lock that `endSleep` takes: a cancellation either
                // finds the continuation stored, or happened before and is seen here.
                let wait = waiting.withLock { state -> Bool in
                    guard let slot = state.slots[ticket.key]?[ticket.id], !slot.woken, !state.stopped, !Task.isCancelled else {
                        state.slots[ticket.key]?[ticket.id]?.woken = false
                        return false
                    }
                    state.slots[ticket.key]?[ticket.id]?.continuation = continuation
                    return true
                }
                if !wait { continuation.resume() }
            }
        } onCancel: {
            self.endSleep(ticket)
        }
    }

    /// Resumes the ticket's sleep, unless a wake already did.
    private func endSleep(_ ticket: Ticket) {
        let continuation = waiting.withLock { state -> CheckedContinuation<Void, Never>? in
            let taken = state.slots[ticket.key]?[ticket.id]?.continuation
            state.slots[ticket.key]?[ticket.id]?.continuation = nil
            return taken
        }
        continuation?.resume()
    }

    /// Keys: frames waiting in one direction of a session; a session's state; a device's poll.
    public static func frames(_ id: String, _ direction: ShellDirection) -> String { "frames \(id) \(direction.rawValue)" }
    public static func state(_ id: String) -> String { "state \(id)" }
    public static func device(_ fingerprint: String) -> String { "device \(fingerprint)" }
}
