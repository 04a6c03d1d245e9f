import Dispatch
import FoundationEssentials
import RookeryCore
import RookeryCurl

/// Sends the device's sealed frames from a thread of its own, so the shell's output is read while
/// the previous batch is on its way: each batch is a round trip to the server, and a terminal's
/// buffer is small, so a shell that waited for every round trip would print at a fraction of the
/// link's speed. Frames leave in the order they were put, what waits going as one batch (up to
/// `maxFramesPerBatch`).
///
/// Bounded: `put` waits while `maxBytes` are unsent, which holds the relay's thread, and with it
/// the reading of the terminal (back pressure, not loss). The first failed send is kept and every
/// later call returns it; nothing is sent after it.
final class ShellOutbox: Sendable {
    /// Two steps' worth of output (`ShellSession.maxReadPerStep`): one on its way, one being read.
    static let maxBytes = 512 * 1024
    /// Frames per send: the server takes at most `ShellFrameBounds.maxWaiting` (256) waiting in a
    /// direction, and refuses a larger batch outright; keystroke echoes are one small frame each.
    static let maxFramesPerBatch = 128

    private struct State: Sendable {
        var frames: [ShellFrame] = []
        var bytes = 0
        /// Frames in the batch being sent; they count against `maxBytes` until it is stored.
        var inFlightBytes = 0
        /// Frames the server has stored; each batch says its first frame's number (`ShellLink.send`).
        var sent: Int64 = 0
        var failure: ShellOutboxFailure?
        var stopped = false
    }

    private let link: ShellLink
    private let state = Locked(State())
    /// Signalled when frames are queued or the outbox stops: the sending thread's wake-up.
    private let queued = DispatchSemaphore(value: 0)
    /// Signalled after each batch (stored or failed): the wake-up of a `put` or `flush` waiting.
    private let progressed = DispatchSemaphore(value: 0)

    init(link: ShellLink) throws {
        self.link = link
        try DedicatedThread.start { [self] in sendUntilStopped() }
    }

    /// Queues `frames`, waiting while the outbox is full; the failure that ended sending, if one did.
    func put(_ frames: [ShellFrame]) -> ShellOutboxFailure? {
        let size = frames.reduce(0) { $0 + $1.encoded.count }
        if let failure = waitUntil({ $0.bytes + $0.inFlightBytes == 0 || $0.bytes + $0.inFlightBytes + size <= Self.maxBytes }) {
            return failure
        }
        guard !frames.isEmpty else { return nil }
        state.withLock { state in
            state.frames += frames
            state.bytes += size
        }
        queued.signal()
        return nil
    }

    /// Waits until every frame put is stored; the failure that ended sending, if one did.
    func flush() -> ShellOutboxFailure? {
        waitUntil { $0.bytes + $0.inFlightBytes == 0 }
    }

    /// Ends the sending thread once it has nothing in hand; frames still queued are not sent.
    func stop() {
        state.withLock { $0.stopped = true }
        queued.signal()
    }

    /// Waits until `ready` holds (or sending failed, which ends every wait).
    private func waitUntil(_ ready: (State) -> Bool) -> ShellOutboxFailure? {
        while true {
            let outcome: (done: Bool, failure: ShellOutboxFailure?) = state.withLock { state in
                if let failure = state.failure { return (true, failure) }
                return (ready(state), nil)
            }
            if outcome.done { return outcome.failure }
            progressed.wait()
        }
    }

    private func sendUntilStopped() {
        while true {
            let batch: (frames: [ShellFrame], first: Int64)? = state.withLock { state in
                guard !state.stopped, state.failure == nil, !state.frames.isEmpty else { return nil }
                let frames = Array(state.frames.prefix(Self.maxFramesPerBatch))
                let bytes = frames.reduce(0) { $0 + $1.encoded.count }
                state.frames.removeFirst(frames.count)
                state.bytes -= bytes
                state.inFlightBytes = bytes
                return (frames, state.sent + 1)
            }
            guard let batch else {
                if state.withLock({ $0.stopped || $0.failure != nil }) { return }
                queued.wait()
                continue
            }
            let failure: ShellOutboxFailure?
            do {
                try link.send(batch.frames, first: batch.first)
                failure = nil
            } catch {
                failure = ShellOutboxFailure(description: "\(error)")
            }
            state.withLock { state in
                state.inFlightBytes = 0
                if let failure { state.failure = failure } else { state.sent += Int64(batch.frames.count) }
            }
            progressed.signal()
        }
    }
}

/// Why the device's frames stopped going out: what the link said.
struct ShellOutboxFailure: Error, Sendable, CustomStringConvertible {
    let description: String
}
