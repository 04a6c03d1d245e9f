import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Everything one session's shell printed, in a file only the owner may read, up to a size limit.
final class ShellTranscriptFile {
    let path: String
    private let descriptor: Int32
    private let limit: Int
    private var written = 0
    private(set) var truncated = false

    /// Creates the file; it must not exist already (a session id is used once).
    init(path: String, limit: Int) throws(ShellSessionError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .logFailed(path: path, errno: errno) }
        // The mode above passes through the umask, which may only have narrowed it; make it exact.
        _ = fchmod(descriptor, 0o600)
        self.path = path
        self.descriptor = descriptor
        self.limit = limit
    }

    deinit { close(descriptor) }

    /// Appends what fits under the limit; a failing disk only stops the transcript, never the shell.
    func append(_ bytes: [UInt8]) {
        let room = max(0, limit - written)
        if bytes.count > room { truncated = true }
        var offset = 0
        let count = min(bytes.count, room)
        while offset < count {
            let result = bytes.withUnsafeBufferPointer { write(descriptor, $0.baseAddress! + offset, count - offset) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else {
                truncated = true
                written = limit
                return
            }
            offset += result
        }
        written += count
    }
}
