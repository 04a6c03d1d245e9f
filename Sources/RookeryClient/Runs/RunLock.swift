import FoundationEssentials
import Glibc
import RookeryCore

/// One client run at a time per install root: an exclusive `flock` on `var/client/cron.lock`,
/// released when the process ends, even by `kill -9`. Cron runs give up when it is held;
/// commands run by hand wait for it, so they never race a cron run over the queue.
public struct RunLock {
    private let fd: Int32

    /// Nil when `wait` is false and another run holds the lock.
    public init?(path: String, wait: Bool) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AtomicFile.posixError("open lock \(path)") }
        while flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0 {
            if wait && errno == EINTR { continue }
            close(fd)
            if !wait { return nil }
            throw AtomicFile.posixError("lock \(path)")
        }
        self.fd = fd
    }

    public func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
