import Crypto
import Foundation
import RookeryCore

/// Whether a release's tarball on disk is the one its record describes (size and SHA-256), so a
/// server never offers or serves a file that is not: the releases directory may be storage that
/// several server hosts share, where a copy can be half written or a sync half done. A file is
/// hashed once per change (the verdict is remembered with the file's device, inode, size and
/// modification time and the record's hash), so the check costs a `stat` per request once the
/// file settled. A file that cannot be read gets no verdict, so a permission mended counts at once.
final class TarballCheck: Sendable {
    private struct Identity: Equatable {
        let device: UInt64
        let inode: UInt64
        let size: Int64
        let modified: Int64
        let recordSHA256: String
    }

    private let verdicts = Locked([String: (identity: Identity, matches: Bool)]())

    /// Whether the file at `path` has `record`'s size and SHA-256.
    func matches(_ path: String, _ record: ReleaseRecord) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else { return false }
        let identity = Identity(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            modified: Self.nanoseconds(info.st_mtim), recordSHA256: record.sha256)
        if let known = verdicts.current[path], known.identity == identity { return known.matches }
        guard identity.size == Int64(record.size) else { return false }
        // Not read (a transient error, a permission): no verdict kept, the next request tries again.
        guard let hash = Self.sha256(of: path) else { return false }
        let matches = hash == record.sha256
        // A file written again within the clock's granularity (a few milliseconds) can keep its
        // time and size: a verdict on a file changed in the last two seconds is not remembered.
        if Date().timeIntervalSince1970 - Double(identity.modified) / 1e9 > 2 {
            verdicts.withLock { $0[path] = (identity, matches) }
        }
        return matches
    }

    private static func nanoseconds(_ time: timespec) -> Int64 {
        Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// The file's SHA-256 in lowercase hex, read a megabyte at a time; nil when it cannot be read
    /// to its end.
    private static func sha256(of path: String) -> String? {
        guard let file = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? file.close() }
        var hash = SHA256()
        do {
            while let chunk = try file.read(upToCount: 1 << 20), !chunk.isEmpty { hash.update(data: chunk) }
        } catch {
            return nil
        }
        return Hex.string(hash.finalize())
    }
}
