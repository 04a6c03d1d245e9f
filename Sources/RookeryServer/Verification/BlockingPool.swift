import Foundation

/// Runs blocking work (every GPGME call waits for a gpg process) on a fixed set of threads of its
/// own, away from the event loops and from the shared Dispatch pool: a flood of work queues up
/// here instead of pinning system threads.
public final class BlockingPool: Sendable {
    private let jobs = JobQueue()

    public init(width: Int) {
        for index in 0..<max(1, width) {
            let thread = Thread { [jobs] in jobs.serve() }
            thread.name = "rookery.blocking.\(index)"
            thread.start()
        }
    }

    deinit { jobs.close() }

    /// Bodies up to this size are scanned, checked and parsed on the request's own task (it takes
    /// microseconds); larger ones on the pool, so that strangers' big bodies cannot occupy every
    /// thread of Swift's cooperative pool, which every request's handler and the writer need.
    public static let inlineBodyBytes = 64 * 1024

    /// `work` over a body of `bodyBytes`: here when the body is small, on the pool when large.
    public func run<T: Sendable>(overBodyOf bodyBytes: Int, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        bodyBytes <= Self.inlineBodyBytes ? try work() : try await run(work)
    }

    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            jobs.add { continuation.resume(with: Result { try work() }) }
        }
    }
}

/// First in, first out; the pool's threads wait on it and leave once it is closed and empty.
private final class JobQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [() -> Void] = []
    private var closed = false

    func add(_ job: @escaping () -> Void) {
        condition.withLock {
            pending.append(job)
            condition.signal()
        }
    }

    func close() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
    }

    func serve() {
        while let job = next() { job() }
    }

    private func next() -> (() -> Void)? {
        condition.withLock {
            while pending.isEmpty && !closed { condition.wait() }
            return pending.isEmpty ? nil : pending.removeFirst()
        }
    }
}
