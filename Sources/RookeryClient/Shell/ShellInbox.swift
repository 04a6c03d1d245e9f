import FoundationEssentials
import RookeryCore

#if canImport(Glibc)
import Glibc
#endif

/// Hands events from the receiving thread to the relay's thread: a queue bounded in bytes, and a
/// pipe the relay polls beside the terminal, so an event wakes it at once.
final class ShellInbox: Sendable {
    /// The receiving thread waits past this; the server keeps the rest (its own bound).
    static let maxBytes = 1 << 20
    /// The read end, non-blocking: poll it for POLLIN, then `take`.
    let wakeDescriptor: Int32
    private let wakeWriter: Int32
    private let state = Locked(Queue())

    private struct Queue: Sendable {
        var events: [ShellInbound] = []
        var bytes = 0
        var stopped = false
    }

    init() throws(ShellSessionError) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw .terminalFailed(errno: errno) }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        wakeDescriptor = ends[0]
        wakeWriter = ends[1]
    }

    deinit {
        close(wakeDescriptor)
        close(wakeWriter)
    }

    /// Queues `events`, waiting while the queue is full; false once the relay stopped taking.
    func put(_ events: [ShellInbound]) -> Bool {
        let size = events.reduce(0) { $0 + Self.size($1) }
        while true {
            let queued = state.withLock { queue -> Bool? in
                if queue.stopped { return false }
                guard queue.bytes == 0 || queue.bytes + size <= Self.maxBytes else { return nil }
                queue.events += events
                queue.bytes += size
                return true
            }
            if let queued {
                if queued { wake() }
                return queued
            }
            usleep(10_000)
        }
    }

    /// The oldest event, or with `acceptingData` false the oldest that is not data: a shell that
    /// does not read its input must not hold back the admin's close or a window size.
    func take(acceptingData: Bool) -> ShellInbound? {
        var byte: UInt8 = 0
        while read(wakeDescriptor, &byte, 1) > 0 {}
        return state.withLock { queue in
            let index = acceptingData ? queue.events.indices.first : queue.events.firstIndex { !$0.isData }
            guard let index else { return nil }
            let event = queue.events.remove(at: index)
            queue.bytes -= Self.size(event)
            return event
        }
    }

    /// The relay is done: the receiving thread's next `put` returns false.
    func stop() { state.withLock { $0.stopped = true } }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWriter, &byte, 1)
    }

    private static func size(_ event: ShellInbound) -> Int {
        if case .message(.data(let bytes)) = event { return bytes.count + 1 }
        return 64
    }
}

extension ShellInbound {
    var isData: Bool {
        if case .message(.data) = self { return true }
        return false
    }
}
