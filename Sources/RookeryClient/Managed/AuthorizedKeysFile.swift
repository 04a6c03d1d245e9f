import FoundationEssentials
import RookeryCore

#if canImport(Glibc)
import Glibc
#endif

/// One account's `~/.ssh/authorized_keys`, written by root in a directory the account's owner
/// controls. The owner may have planted a symlink (`.ssh -> /etc`, `authorized_keys ->
/// /etc/shadow`) hoping root writes through it, so every step after the home directory works on
/// descriptors: `.ssh` is opened relative to the home with O_NOFOLLOW (so it is a real directory
/// inside the home, whatever happens to the path meanwhile), and every file inside it relative to
/// that descriptor and with O_NOFOLLOW too, never by path. The home's own path is the
/// administrator's (passwd) and is followed as the system follows it.
struct AuthorizedKeysFile {
    /// Why the file was not written: `refused` for what Rookery will not do, `failed` for errors.
    enum Problem: Error, Equatable {
        case refused(String)
        case failed(String)
    }

    enum Result: Equatable {
        case written
        case unchanged
    }

    static let name = "authorized_keys"
    static let previousName = "authorized_keys.rookery-previous"

    /// The home directory's path on this file system (under the system root).
    let home: String
    let uid: uid_t
    let gid: gid_t

    /// Makes the file hold exactly `data`, 0600 and owned by the account; the file it replaces is
    /// kept as `authorized_keys.rookery-previous` (0600, same owner).
    func write(_ data: Data) throws(Problem) -> Result {
        let homeFD = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard homeFD >= 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw .refused("the home directory \(home) does not exist") }
            throw .failed(Self.reason("open \(home)"))
        }
        defer { close(homeFD) }
        let sshFD = try openSSHDirectory(in: homeFD)
        defer { close(sshFD) }

        let old = try readExisting(in: sshFD)
        if let old, old.data == data, old.uid == uid, old.gid == gid, old.mode == 0o600 { return .unchanged }
        if let old { try replace(Self.previousName, in: sshFD, with: old.data) }
        try replace(Self.name, in: sshFD, with: data)
        // The renames are durable once the directory is.
        fsync(sshFD)
        return .written
    }

    /// `.ssh` in the home, made (0700, the account's) when missing; refused when it is a symlink,
    /// not a directory, or belongs to someone other than the account or root.
    private func openSSHDirectory(in homeFD: Int32) throws(Problem) -> Int32 {
        let path = home + "/.ssh"
        // O_NOFOLLOW is the symlink check, made by the open itself: a look before the open could
        // be answered by a directory that is a symlink by the time of the open.
        let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        var fd = openat(homeFD, ".ssh", flags)
        var made = false
        if fd < 0 && errno == ENOENT {
            if mkdirat(homeFD, ".ssh", 0o700) == 0 {
                made = true
            } else if errno != EEXIST {
                throw .failed(Self.reason("make \(path)"))
            }
            fd = openat(homeFD, ".ssh", flags)
        }
        var info = stat()
        guard fd >= 0 else {
            // Linux says ENOTDIR (not ELOOP) for a symlink opened with O_DIRECTORY | O_NOFOLLOW.
            guard errno == ELOOP || errno == ENOTDIR else { throw .failed(Self.reason("open \(path)")) }
            // Refused either way; this look only words the message.
            let isSymlink = fstatat(homeFD, ".ssh", &info, AT_SYMLINK_NOFOLLOW) == 0 && info.st_mode & S_IFMT == S_IFLNK
            throw .refused(isSymlink ? "\(path) is a symlink; Rookery does not write through one" : "\(path) is not a directory")
        }
        if made {
            guard fchown(fd, uid, gid) == 0, fchmod(fd, 0o700) == 0 else {
                let reason = Self.reason("set the owner and mode of \(path)")
                close(fd)
                throw .failed(reason)
            }
        } else if fstat(fd, &info) != 0 || (info.st_uid != uid && info.st_uid != 0) {
            // Someone else's .ssh: they could change the keys behind Rookery's back.
            close(fd)
            throw .refused("\(path) belongs to uid \(info.st_uid), not to the account (\(uid)) or root")
        }
        return fd
    }

    /// What authorized_keys holds now; nil when there is none.
    private func readExisting(in sshFD: Int32) throws(Problem) -> (data: Data, uid: uid_t, gid: gid_t, mode: mode_t)? {
        let path = home + "/.ssh/" + Self.name
        // O_NOFOLLOW refuses a symlink in the open itself; O_NONBLOCK keeps a FIFO planted here
        // from hanging the client (it is refused below as not a regular file).
        let fd = openat(sshFD, Self.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            if errno == ELOOP { throw .refused("\(path) is a symlink; Rookery does not write through one") }
            throw .failed(Self.reason("open \(path)"))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .failed(Self.reason("look at \(path)")) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .refused("\(path) is not a regular file") }
        // Its content is copied into a file the account owns: a hard link to another file
        // (/etc/shadow, where links to others' files are allowed) must not be copied.
        guard info.st_nlink == 1 else { throw .refused("\(path) has \(info.st_nlink) hard links; Rookery does not copy it") }
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while data.count <= AuthorizedKeysContent.maxBytes {
            let count = read(fd, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw .failed(Self.reason("read \(path)")) }
            if count == 0 { break }
            data.append(contentsOf: chunk[..<count])
        }
        guard data.count <= AuthorizedKeysContent.maxBytes else {
            throw .refused("\(path) is over \(AuthorizedKeysContent.maxBytes) bytes; Rookery does not keep a copy of it")
        }
        return (data, info.st_uid, info.st_gid, info.st_mode & 0o7777)
    }

    /// Writes `name` in the directory whole or not at all: a temporary file beside it, owned by
    /// the account, 0600, synced, then renamed over it. A rename replaces a symlink planted at
    /// `name` itself, never what it points at.
    private func replace(_ name: String, in sshFD: Int32, with data: Data) throws(Problem) {
        let path = home + "/.ssh/" + name
        let temporary = ".\(name).tmp-\(UUID().uuidString)"
        let fd = openat(sshFD, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .failed(Self.reason("create a temporary file for \(path)")) }
        let ok = AtomicFile.writeAll(data, to: fd) && fchown(fd, uid, gid) == 0 && fchmod(fd, 0o600) == 0 && fsync(fd) == 0
        let reason = ok ? "" : Self.reason("write \(path)")
        close(fd)
        guard ok else {
            unlinkat(sshFD, temporary, 0)
            throw .failed(reason)
        }
        guard renameat(sshFD, temporary, sshFD, name) == 0 else {
            let reason = Self.reason("rename into \(path)")
            unlinkat(sshFD, temporary, 0)
            throw .failed(reason)
        }
    }

    /// What failed and errno's words for why.
    private static func reason(_ what: String) -> String {
        "\(what): \(String(cString: strerror(errno)))"
    }
}
