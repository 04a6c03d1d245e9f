import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock` on a file, held until `release()` or until the process ends, even by
/// `kill -9`, so a crashed holder never leaves a stale lock behind. The server's one-at-a-time
/// steps (publishing a release, the audit, editing settings) wait for it; the client's cron run
/// gives up when another run holds it (`ifFree`).
public struct FileLock {
    /// Who may open the lock file. `flock` needs no write access, so the file is opened read-only
    /// and its mode only says who can reach it.
    public enum Access: Sendable {
        /// Mode 0644: the server's locks, which an admin command run as root may create before
        /// the server's own user takes them.
        case everyone
        /// Mode 0600: the client's run lock, which only the client's user takes.
        case owner

        var mode: mode_t { self == .everyone ? 0o644 : 0o600 }
    }

    private let fd: Int32

    /// Waits until no other process holds the lock, making the file (and its directory) if needed.
    public init(path: String, access: Access = .everyone) throws {
        // Waiting, it returns only once it holds the lock: never nil.
        fd = try Self.lockedDescriptor(path: path, access: access, waiting: true)!
    }

    /// The lock when no other process holds it; nil when one does.
    public static func ifFree(path: String, access: Access = .everyone) throws -> FileLock? {
        try lockedDescriptor(path: path, access: access, waiting: false).map(FileLock.init(fd:))
    }

    private init(fd: Int32) { self.fd = fd }

    private static func lockedDescriptor(path: String, access: Access, waiting: Bool) throws -> Int32? {
        do {
            try FileManager.default.createDirectory(atPath: PathText.parent(path), withIntermediateDirectories: true)
        } catch {
            throw SystemCallError(
                description: "cannot make the directory of the lock file \(path): "
                    + "\(SystemCallError.reason(error)); \(advice(errno: 0, path))")
        }
        let fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, access.mode)
        guard fd >= 0 else { throw failure("open the lock file", path, errno: errno) }
        while flock(fd, LOCK_EX | (waiting ? 0 : LOCK_NB)) != 0 {
            let reason = errno
            if reason == EINTR { continue }
            close(fd)
            if reason == EWOULDBLOCK && !waiting { return nil }
            throw failure("lock", path, errno: reason)
        }
        return fd
    }

    public func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// What failed, errno's reason, and what to do about it.
    private static func failure(_ action: String, _ path: String, errno reason: Int32) -> SystemCallError {
        SystemCallError(description: "cannot \(action) \(path): \(String(cString: strerror(reason))); \(advice(errno: reason, path))")
    }

    private static func advice(errno reason: Int32, _ path: String) -> String {
        switch reason {
        case EACCES, EPERM, EROFS:
            "run this as the user that owns the install root, or give that user access to \(PathText.parent(path))"
        case ENOLCK:
            "keep the install root on a local file system, which supports flock"
        default:
            "check that \(PathText.parent(path)) exists and is writable"
        }
    }
}
