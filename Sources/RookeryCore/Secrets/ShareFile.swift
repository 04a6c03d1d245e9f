import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Share files in the layout libgfshare's `gfsplit` writes and `gfcombine` reads: a share lives in
/// `STEM.NNN`, where NNN is its x coordinate in three decimal digits (001 to 255), and the file
/// holds exactly the share bytes, nothing else. So the name carries x and the content carries y.
public enum ShareFile {
    /// No share Rookery makes comes near this (a share is as long as the secret, an exported
    /// OpenPGP secret key of a few KB); reads stop here so a wrong path cannot exhaust memory.
    public static let maximumSize = 1 << 20

    public static func fileName(stem: String, x: UInt8) -> String {
        let digits = String(x)
        return stem + "." + String(repeating: "0", count: 3 - digits.count) + digits
    }

    /// Reads the share at `path`: x from the `.NNN` suffix, the bytes from the content.
    public static func read(path: String) throws -> SecretShare {
        let x = try xCoordinate(ofFile: path)
        // O_NOFOLLOW: a symlink is refused, not followed to whatever it points at.
        // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat refuses it just after.
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ELOOP { throw SecretSharingError.notARegularFile(path: path, kind: "a symbolic link") }
            throw fileSystemError(path, "open")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw fileSystemError(path, "examine") }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw SecretSharingError.notARegularFile(path: path, kind: kindName(status.st_mode))
        }
        let bytes = try readAtMost(maximumSize + 1, from: fd, path: path)
        guard bytes.count <= maximumSize else {
            throw SecretSharingError.shareFileTooLarge(path: path, limit: maximumSize)
        }
        guard !bytes.isEmpty else { throw SecretSharingError.emptyShareFile(path: path) }
        return SecretShare(x: x, bytes: Data(bytes))
    }

    /// Writes `share` to `directory/STEM.NNN`, owner read-write only, synced to disk; returns the
    /// path. An existing file is never overwritten: a keeper's share is not replaced by accident.
    public static func write(_ share: SecretShare, directory: String, stem: String) throws -> String {
        guard !stem.isEmpty, !stem.contains("/"), !stem.contains("\0") else {
            throw SecretSharingError.badShareFileStem(stem)
        }
        guard share.x != 0 else { throw SecretSharingError.zeroXCoordinate }
        guard !share.bytes.isEmpty else { throw SecretSharingError.emptyShare(x: share.x) }
        let path = directory + "/" + fileName(stem: stem, x: share.x)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw SecretSharingError.shareFileExists(path: path) }
            throw fileSystemError(path, "create")
        }
        // The umask can only narrow the mode open gave; fchmod makes it exactly 0600.
        let written = fchmod(fd, 0o600) == 0 && AtomicFile.writeAll(share.bytes, to: fd) && fsync(fd) == 0
        guard written else {
            let failure = fileSystemError(path, "write")
            close(fd)
            unlink(path)
            throw failure
        }
        close(fd)
        // The new name is durable only once its directory is synced too.
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
        return path
    }

    /// The x coordinate named by the file's `.NNN` suffix.
    private static func xCoordinate(ofFile path: String) throws -> UInt8 {
        let name = Array(PathText.lastComponent(path).utf8)
        func refuse(_ problem: String) -> SecretSharingError {
            SecretSharingError.badShareFileName(path: path, problem: problem)
        }
        let digits = name.suffix(3)
        guard name.count >= 4, name[name.count - 4] == UInt8(ascii: "."),
            digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else {
            throw refuse("the name does not end in a dot and three digits (.NNN)")
        }
        let number = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        guard number != 0 else { throw refuse("share number 000 does not exist (x = 0 would be the secret itself)") }
        guard number <= 255 else { throw refuse("share number \(number) is more than 255") }
        return UInt8(number)
    }

    /// Up to `limit` bytes from `fd`, fewer if the file ends first.
    private static func readAtMost(_ limit: Int, from fd: Int32, path: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: limit)
        var total = 0
        while total < limit {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, limit - total) }
            if count < 0 {
                if errno == EINTR { continue }
                throw fileSystemError(path, "read")
            }
            if count == 0 { break }
            total += count
        }
        return Array(bytes.prefix(total))
    }

    private static func kindName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFCHR, S_IFBLK: return "a device"
        default: return "something else"
        }
    }

    /// An error for the failed `operation`, with errno's explanation (read before anything else
    /// can change errno).
    private static func fileSystemError(_ path: String, _ operation: String) -> SecretSharingError {
        .fileSystem(path: path, operation: operation, reason: String(cString: strerror(errno)))
    }
}
