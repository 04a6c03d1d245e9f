import Foundation
import RookeryCore

/// A GnuPG home that lives for one command: made with mkdtemp (mode 0700, so only this process's
/// user can read it), in memory where the system offers it (/dev/shm) so a private key rebuilt from
/// shares does not land on a disk, and wiped at the end together with its gpg-agent.
final class TemporaryKeyHome {
    let path: String
    let openPGP: OpenPGP

    /// Made in `base`, else where `ROOKERY_SECRET_TMPDIR` says, else /dev/shm or the temporary directory.
    init(in base: String? = nil) throws {
        let base =
            base ?? ProcessInfo.processInfo.environment["ROOKERY_SECRET_TMPDIR"]
            ?? (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : NSTemporaryDirectory())
        Self.sweepAbandoned(in: base)
        // The pid in the name lets a later command find and wipe a home whose maker was killed.
        var template = Array((base + "/rookery-keys-\(getpid())-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw AdminError(.io, "cannot make a temporary GnuPG home in \(base): \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
        openPGP = OpenPGP(homeDirectory: path)
        do {
            try openPGP.prepareHome()
        } catch {
            wipe()
            throw error
        }
    }

    /// Stops the home's gpg-agent, overwrites every file with zeros and removes the home.
    func wipe() {
        openPGP.stopAgent()
        if let files = FileManager.default.enumerator(atPath: path) {
            for case let name as String in files {
                Self.overwrite(path + "/" + name)
            }
        }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Wipes the homes of commands that died before they could (killed, or the machine lost
    /// power with /dev/shm kept): those whose maker's process is gone.
    private static func sweepAbandoned(in base: String) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        for name in names where name.hasPrefix("rookery-keys-") {
            let parts = name.split(separator: "-")
            guard parts.count == 4, let pid = pid_t(parts[2]), kill(pid, 0) != 0, errno == ESRCH else { continue }
            let home = base + "/" + name
            var info = stat()
            guard lstat(home, &info) == 0, info.st_uid == geteuid() else { continue }
            TemporaryKeyHome(abandoned: home).wipe()
        }
    }

    private init(abandoned path: String) {
        self.path = path
        openPGP = OpenPGP(homeDirectory: path)
    }

    private static func overwrite(_ file: String) {
        var info = stat()
        guard lstat(file, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return }
        let descriptor = open(file, O_WRONLY | O_NOFOLLOW)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let zeros = [UInt8](repeating: 0, count: Int(info.st_size))
        _ = zeros.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        fsync(descriptor)
    }
}
