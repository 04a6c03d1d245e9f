import FoundationEssentials
import Glibc

/// A regular file under a `SystemRoot`, found without ever leaving the root, and the end of its
/// contents.
///
/// `SystemRoot.readData` lets the kernel resolve a path, so under a root other than "/" a symlink
/// such as "../../../outside" or "/home/x" leads out of the root. Paths that come from configuration
/// (backup markers, which may sit in directories their owners can write) are instead walked one
/// component at a time from a descriptor of the root, never letting the kernel follow a symlink:
/// each symlink is resolved here as if the root were "/". An absolute target starts again at the
/// root, and a ".." that would climb above the root is refused rather than clamped, because a link
/// made that way was made to point outside.
struct ConfinedFile {
    /// Why a file cannot be looked at. The raw value is what a plugin reports.
    enum Refusal: String, Error {
        case missing = "missing"
        case outsideRoot = "outside the root"
        case notRegularFile = "not a regular file"
        case unreadable = "unreadable"
        case symlinkLoop = "too many symlinks"
    }

    /// The file's modification time.
    let modified: Date
    /// At most the last `limit` bytes, in whole lines: when the read starts inside the file, the
    /// partial line it starts in is dropped, since its beginning (and any timestamp there) is unseen.
    let tail: Data

    /// As Linux's own limit on symlinks in one lookup.
    private static let symlinkLimit = 40

    /// Opens `absolutePath` (a path inside the root) and reads at most its last `limit` bytes.
    static func open(_ absolutePath: String, in root: SystemRoot, readingLast limit: Int) -> Result<ConfinedFile, Refusal> {
        let rootDescriptor = Glibc.open(root.resolve("/"), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootDescriptor >= 0 else { return .failure(.missing) }
        var walk = Walk(root: rootDescriptor, remaining: components(absolutePath))
        defer { walk.close() }
        return walk.run(symlinkLimit: symlinkLimit).flatMap { name in
            read(name, in: walk.directory, limit: limit)
        }
    }

    /// The parts of a path or symlink target, in reverse order so the next one is popped off the end.
    fileprivate static func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init).reversed()
    }

    /// O_NOFOLLOW: a symlink swapped in after the walk looked at the name fails here instead of being
    /// followed. O_NONBLOCK: a FIFO put there cannot make the open wait for a writer.
    private static func read(_ name: String, in directory: Int32, limit: Int) -> Result<ConfinedFile, Refusal> {
        let descriptor = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { return .failure(errno == ELOOP ? .notRegularFile : .unreadable) }
        defer { Glibc.close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return .failure(.unreadable) }
        guard status.st_mode & S_IFMT == S_IFREG else { return .failure(.notRegularFile) }
        let size = Int(status.st_size)
        let start = max(0, size - max(0, limit))
        guard var tail = readBytes(descriptor, from: start, count: size - start) else { return .failure(.unreadable) }
        if start > 0 {
            let firstLineEnd = tail.firstIndex(of: UInt8(ascii: "\n")).map { tail.index(after: $0) } ?? tail.endIndex
            tail = Data(tail[firstLineEnd...])
        }
        let modified = Date(
            timeIntervalSince1970: TimeInterval(status.st_mtim.tv_sec) + TimeInterval(status.st_mtim.tv_nsec) / 1e9
        )
        return .success(ConfinedFile(modified: modified, tail: tail))
    }

    /// pread, so a file that grows while it is read still gives at most `count` bytes.
    private static func readBytes(_ descriptor: Int32, from offset: Int, count: Int) -> Data? {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress! + filled, count - filled, off_t(offset + filled))
            }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { return nil }
            if got == 0 { break }
            filled += got
        }
        return Data(bytes[..<filled])
    }
}

/// One lookup: the directory reached so far and the names still to walk.
private struct Walk {
    let root: Int32
    /// The directory the next name is looked up in; owned by the walk unless it is the root.
    private(set) var directory: Int32
    /// How many directories below the root `directory` is; ".." at 0 would leave the root.
    private var depth = 0
    private var remaining: [String]

    init(root: Int32, remaining: [String]) {
        self.root = root
        self.directory = root
        self.remaining = remaining
    }

    /// Walks every name but the last, which is returned for the caller to open in `directory`.
    mutating func run(symlinkLimit: Int) -> Result<String, ConfinedFile.Refusal> {
        var symlinks = 0
        while let name = remaining.popLast() {
            if name == "." { continue }
            if name == ".." {
                guard depth > 0 else { return .failure(.outsideRoot) }
                guard enter(openat(directory, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) else {
                    return .failure(.unreadable)
                }
                depth -= 1
                continue
            }
            var status = stat()
            guard fstatat(directory, name, &status, AT_SYMLINK_NOFOLLOW) == 0 else {
                return .failure(errno == ENOENT || errno == ENOTDIR ? .missing : .unreadable)
            }
            switch status.st_mode & S_IFMT {
            case S_IFLNK:
                symlinks += 1
                guard symlinks <= symlinkLimit else { return .failure(.symlinkLoop) }
                guard let target = linkTarget(name) else { return .failure(.unreadable) }
                if target.hasPrefix("/") {
                    _ = enter(root)
                    depth = 0
                }
                remaining += ConfinedFile.components(target)
            case S_IFDIR where !remaining.isEmpty:
                guard enter(openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) else {
                    return .failure(.unreadable)
                }
                depth += 1
            case S_IFREG where remaining.isEmpty:
                return .success(name)
            case S_IFREG:
                return .failure(.missing)
            default:
                return .failure(.notRegularFile)
            }
        }
        // The path ends in the root or in a directory.
        return .failure(.notRegularFile)
    }

    /// Makes `descriptor` the current directory, closing the one left behind; false when it is not open.
    private mutating func enter(_ descriptor: Int32) -> Bool {
        guard descriptor >= 0 else { return false }
        if directory != root { Glibc.close(directory) }
        directory = descriptor
        return true
    }

    private func linkTarget(_ name: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        let length = readlinkat(directory, name, &buffer, buffer.count)
        guard length > 0, length < buffer.count else { return nil }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    mutating func close() {
        if directory != root { Glibc.close(directory) }
        Glibc.close(root)
        directory = -1
    }
}
