import Crypto
import Foundation
import RookeryCore

/// Whether a release's tarball on disk is the one its record describes (size and SHA-256), so a
/// server never offers or serves a file that is not: the releases directory may be storage that
/// several server hosts share, where a copy can be half written or a sync half done. A file is
/// hashed once per change (its inode, size and modification time are remembered with the
/// verdict), so the check costs a `stat` per request once the file has settled.
final class TarballCheck: Sendable {
    private struct Identity: Equatable {
        let inode: UInt64
        let size: Int64
        let modified: Int64
    }

    private let verdicts = Locked([String: (identity: Identity, matches: Bool)]())

    /// Whether the file at `path` has `record`'s size and SHA-256.
    func matches(_ path: String, _ record: ReleaseRecord) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        let identity = Identity(
            inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
        if let known = verdicts.current[path], known.identity == identity { return known.matches }
        let matches = identity.size == Int64(record.size) && Self.sha256(of: path) == record.sha256
        // A file written again within the clock's granularity (a few milliseconds) can keep its
        // time and size: a verdict on a file changed in the last two seconds is not remembered.
        let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        if Date().timeIntervalSince1970 - modified > 2 {
            verdicts.withLock { $0[path] = (identity, matches) }
        }
        return matches
    }

    /// The file's SHA-256 in lowercase hex, read a megabyte at a time; nil when it cannot be read.
    private static func sha256(of path: String) -> String? {
        guard let file = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? file.close() }
        var hash = SHA256()
        while let chunk = try? file.read(upToCount: 1 << 20), !chunk.isEmpty { hash.update(data: chunk) }
        return Hex.string(hash.finalize())
    }
}
