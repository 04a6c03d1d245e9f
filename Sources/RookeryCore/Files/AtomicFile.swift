import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Whole-or-nothing file writes: temporary file in the same directory, fsync, rename, fsync of
/// the directory. A crash at any point leaves the old file or the new one, never half of one.
public enum AtomicFile {
    /// `mode` is exact (not reduced by the umask); `owner` (uid, gid), when given, is set before
    /// the file appears under `path`, so readers never see it with the wrong owner.
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o600, owner: (uid_t, gid_t)? = nil) throws {
        let directory = PathText.parent(path)
        let temporary = directory + "/.tmp-" + UUID().uuidString
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw posixError("create \(temporary)") }
        var ok = writeAll(data, to: fd)
        if let (uid, gid) = owner { ok = ok && fchown(fd, uid, gid) == 0 }
        ok = ok && fchmod(fd, mode) == 0
        let writeErrno = errno
        ok = ok && fsync(fd) == 0
        close(fd)
        guard ok else {
            unlink(temporary)
            errno = writeErrno
            throw posixError("write \(path)")
        }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw posixError("rename into \(path)")
        }
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }

    /// Writes every byte of `data` to `fd`, retrying short writes; false (with errno) on failure.
    public static func writeAll(_ data: Data, to fd: Int32) -> Bool {
        data.withUnsafeBytes { raw -> Bool in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
    }

    /// What failed and errno's reason ("rename into /x: No space left on device").
    public static func posixError(_ what: String) -> Error {
        SystemCallError(description: "\(what): \(String(cString: strerror(errno)))")
    }
}

/// A system call that failed, said as `AtomicFile.posixError` words it. LocalizedError, so that
/// Foundation's `localizedDescription` (the server's) gives the same words.
public struct SystemCallError: LocalizedError, KindedError {
    public let description: String
    public var kind: ErrorKind { .io }
    public var errorDescription: String? { description }

    /// Why a FileManager call failed, in strerror's words with the file it names ("/home/a/x:
    /// Permission denied"): FoundationEssentials has no `localizedDescription`, and its errors
    /// print as their whole structure.
    public static func reason(_ error: Error) -> String {
        if let cocoa = error as? CocoaError, let posix = cocoa.underlying as? POSIXError {
            let reason = String(cString: strerror(posix.code.rawValue))
            return cocoa.filePath.map { "\($0): \(reason)" } ?? reason
        }
        return "\(error)"
    }
}
