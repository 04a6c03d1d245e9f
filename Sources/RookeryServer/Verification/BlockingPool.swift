import NIOPosix

/// Runs blocking work (every GPGME call waits for a gpg process) on a fixed set of threads of its
/// own, NIO's `NIOThreadPool`, away from the event loops and from Swift's cooperative pool: a
/// flood of work queues up here instead of pinning shared threads. The queue holds at most one
/// job per request in flight, which the connection caps bound (docs/security.md).
///
/// A class around the pool because `NIOThreadPool` must be shut down before it goes away, and
/// its owners (`ServerContext`, `EndpointAuthenticator`) are values that cannot do that.
public final class BlockingPool: Sendable {
    private let threads: NIOThreadPool

    public init(width: Int) {
        threads = NIOThreadPool(numberOfThreads: max(1, width))
        threads.start()
    }

    /// Nothing is waiting on the pool by now: every `run` holds it until its work is done.
    deinit { threads.shutdownGracefully { _ in } }

    /// Bodies up to this size are scanned, checked and parsed on the request's own task (it takes
    /// microseconds); larger ones on the pool, so that strangers' big bodies cannot occupy every
    /// thread of Swift's cooperative pool, which every request's handler and the writer need.
    public static let inlineBodyBytes = 64 * 1024

    /// `work` over a body of `bodyBytes`: here when the body is small, on the pool when large.
    public func run<T: Sendable>(overBodyOf bodyBytes: Int, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        bodyBytes <= Self.inlineBodyBytes ? try work() : try await run(work)
    }

    /// `work` on one of the pool's threads, first in, first out. Work whose task is cancelled
    /// while it waits (its peer went away) is dropped unrun, with a CancellationError.
    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await threads.runIfActive(work)
    }
}
