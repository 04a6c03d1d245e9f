import Foundation
import RookeryCore

/// In-process wake-ups for long polls that wait on the database: a request that changed what a
/// key names (frames of a session's direction, a session's state, a device) wakes whoever waits
/// on it in this process at once; waiters in other processes see the change when they look again.
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
        /// Which sleep the continuation belongs to, so an old timeout cannot end a newer sleep.
        var sleep: UInt64 = 0
    }

    private struct Waiting: Sendable {
        var slots: [String: [UInt64: Slot]] = [:]
        var lastID: UInt64 = 0
    }

    private let waiting = Locked(Waiting())

    public init() {}

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

    /// Whether anyone in this process waits on `key`.
    public func isWaited(_ key: String) -> Bool { waiting.withLock { $0.slots[key] != nil } }

    /// Wakes every waiter registered on `key`: sleeping ones now, the others at their next sleep.
    public func wake(_ key: String) {
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
    /// `timeout`, or when the task is cancelled.
    public func sleep(_ ticket: Ticket, for timeout: Duration) async {
        guard timeout > .zero else { return }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let sleep = waiting.withLock { state -> UInt64? in
                    guard var slot = state.slots[ticket.key]?[ticket.id], !slot.woken, !Task.isCancelled else {
                        state.slots[ticket.key]?[ticket.id]?.woken = false
                        return nil
                    }
                    slot.sleep &+= 1
                    slot.continuation = continuation
                    state.slots[ticket.key]?[ticket.id] = slot
                    return slot.sleep
                }
                guard let sleep else { return continuation.resume() }
                Task { [weak self] in
                    try? await Task.sleep(for: timeout)
                    self?.endSleep(ticket, sleep)
                }
            }
        } onCancel: {
            self.endSleep(ticket, nil)
        }
    }

    /// Resumes the ticket's sleep (only sleep number `sleep`, when given), unless already resumed.
    private func endSleep(_ ticket: Ticket, _ sleep: UInt64?) {
        let continuation = waiting.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let slot = state.slots[ticket.key]?[ticket.id], sleep == nil || slot.sleep == sleep else { return nil }
            state.slots[ticket.key]?[ticket.id]?.continuation = nil
            return slot.continuation
        }
        continuation?.resume()
    }

    /// Keys: frames waiting in one direction of a session; a session's state; a device's poll.
    public static func frames(_ id: String, _ direction: ShellDirection) -> String { "frames \(id) \(direction.rawValue)" }
    public static func state(_ id: String) -> String { "state \(id)" }
    public static func device(_ fingerprint: String) -> String { "device \(fingerprint)" }
}
