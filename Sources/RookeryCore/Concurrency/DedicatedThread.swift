#if canImport(Glibc)
import Glibc
#endif

/// Runs blocking work (a long poll, a send that may wait minutes for room) on a thread of its
/// own. Dispatch's global queue keeps about one thread per core and adds more only slowly when
/// they block, so on a small device two blocked calls there hold up a third; FoundationEssentials
/// has no `Thread`.
public enum DedicatedThread {
    private final class Work {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Starts `body` on a new detached thread.
    public static func start(_ body: @escaping @Sendable () -> Void) throws {
        let work = Unmanaged.passRetained(Work(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { argument in
                let work = Unmanaged<Work>.fromOpaque(argument!).takeRetainedValue()
                work.body()
                return nil
            }, work)
        guard result == 0 else {
            Unmanaged<Work>.fromOpaque(work).release()
            throw SystemCallError(description: "cannot start a thread: \(String(cString: strerror(result)))")
        }
        pthread_detach(thread)
    }
}
