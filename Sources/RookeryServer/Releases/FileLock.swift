import Foundation
import RookeryCore

/// An exclusive `flock` on a file, held until `release()` or the process ends.
public struct FileLock {
    private let fd: Int32

    public init(path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        // Read-only and world-readable: flock needs no write access, and the server's user must be
        // able to take a lock file that an admin command run as root created.
        fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AtomicFile.posixError("cannot open lock file \(path)") }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                close(fd)
                throw AtomicFile.posixError("cannot lock \(path)")
            }
        }
    }

    public func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
