import FoundationEssentials
import RookeryCore

#if canImport(Glibc)
import Glibc
#endif

/// What a wipe did, reported to the server as the command's output (JSON).
public struct WipeReport: Codable, Sendable, Equatable {
    /// Regular users found, by name, in /etc/passwd order.
    public var users: [String] = []
    /// Home paths as written in /etc/passwd ("/home/alice"), not as found under the system root.
    public var removedHomes: [String] = []
    public var deletedAccounts: [String] = []
    public var endedProcesses: Int = 0
    /// Things deliberately left alone and why.
    public var notes: [String] = []
    /// Failures. The wipe carries on after each one.
    public var errors: [String] = []

    public init() {}

    enum CodingKeys: String, CodingKey {
        case users
        case removedHomes = "removed_homes"
        case deletedAccounts = "deleted_accounts"
        case endedProcesses = "ended_processes"
        case notes
        case errors
    }
}

/// Wipes the regular users of the system under `systemRoot`: ends their processes, removes their
/// homes and deletes their accounts.
///
/// Every path is looked up under the system root ("/" on a device, a sandbox in tests), component
/// by component without following symlinks, so nothing outside the root can be reached. Processes
/// are only ended when the root is "/" itself, because a sandbox's /proc holds made-up process ids
/// that may belong to real processes of the machine running the tests.
///
/// Nothing throws: every failure becomes a line in the report and the wipe goes on, because a half
/// wipe of a lost laptop is better than none.
public struct SystemWipe: Sendable {
    private let systemRoot: String

    public init(systemRoot: String) {
        self.systemRoot = systemRoot
    }

    public func run() -> WipeReport {
        guard let root = Wiper.standardized(root: systemRoot) else {
            var report = WipeReport()
            report.errors.append("system root \"\(systemRoot)\" is not an absolute path without \"..\"; nothing was done")
            return report
        }
        if let refusal = Self.realRootRefusal(root) {
            var report = WipeReport()
            report.errors.append(refusal)
            return report
        }
        var wiper = Wiper(root: root)
        wiper.run()
        return wiper.report
    }

    /// Set by the test support in every test process (and so in every binary a test runs): a
    /// wipe there may only ever act on a sandbox root.
    public static let sandboxOnlyVariable = "ROOKERY_SANDBOX_ONLY"

    /// Why the real system must not be wiped from here, or nil: only root wipes "/", and never
    /// from a test.
    public static func realRootRefusal(_ root: String) -> String? {
        guard root == "/" else { return nil }
        if ProcessInfo.processInfo.environment[sandboxOnlyVariable] != nil {
            return "\(sandboxOnlyVariable) is set (a test): the real system is never wiped; nothing was done"
        }
        if geteuid() != 0 {
            return "only root may wipe the system under /; nothing was done"
        }
        return nil
    }
}

extension SystemWipe {
    /// One wipe under a root that passed `standardized`, noting in its report what it does.
    fileprivate struct Wiper {
        /// "/" or a clean absolute path without a trailing slash.
        let root: String
        var report = WipeReport()

        mutating func run() {
            guard let accounts = readAccounts() else { return }
            let range = regularUIDs()
            let users = accounts.filter { range.isRegular($0.uid) }
            report.users = users.map(\.name)

            endProcesses(of: users)
            removeHomes(of: users)
            deleteAccounts(users, keeping: accounts.filter { !range.isRegular($0.uid) }, range)
        }
    }
}

// MARK: - Finding the regular users

extension SystemWipe.Wiper {
    /// One well-formed line of /etc/passwd: name:password:uid:gid:gecos:home:shell.
    private struct Account {
        let name: String
        let uid: Int
        let gid: Int?
        let home: String

        init?(line: String) {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 7, !fields[0].isEmpty, let uid = Int(fields[2]) else { return nil }
            name = String(fields[0])
            self.uid = uid
            gid = Int(fields[3])
            home = String(fields[5])
        }
    }

    /// The uids of people, as opposed to system accounts.
    private struct RegularUIDs {
        var minimum = 1000
        var maximum = 60000

        func isRegular(_ uid: Int) -> Bool {
            // root and nobody are never people, whatever login.defs says: a damaged UID_MIN of 0
            // must not turn the wipe against root.
            uid != 0 && uid != 65534 && minimum <= uid && uid <= maximum
        }
    }

    private mutating func readAccounts() -> [Account]? {
        switch readFile("/etc/passwd") {
        case .missing:
            report.errors.append("/etc/passwd does not exist; nothing was done")
            return nil
        case .refused(let reason):
            report.errors.append("/etc/passwd not read: \(reason); nothing was done")
            return nil
        case .contents(let data, _):
            return Self.lines(of: data).compactMap { $0.text.flatMap(Account.init(line:)) }
        }
    }

    /// UID_MIN and UID_MAX from /etc/login.defs, like useradd reads them.
    private mutating func regularUIDs() -> RegularUIDs {
        var range = RegularUIDs()
        let data: Data
        switch readFile("/etc/login.defs") {
        case .missing:
            return range
        case .refused(let reason):
            let defaults = "\(range.minimum)-\(range.maximum)"
            report.notes.append("/etc/login.defs not read (\(reason)); regular users have uids \(defaults)")
            return range
        case .contents(let contents, _):
            data = contents
        }
        for line in Self.lines(of: data) {
            let words = (line.text ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, let value = Int(words[1]) else { continue }
            switch words[0] {
            case "UID_MIN": range.minimum = value
            case "UID_MAX": range.maximum = value
            default: break
            }
        }
        return range
    }
}

// MARK: - Ending processes

extension SystemWipe.Wiper {
    private mutating func endProcesses(of users: [Account]) {
        guard root == "/" else {
            report.notes.append("processes were not ended because the system root is not \"/\"")
            return
        }
        let uids = Set(users.map(\.uid))
        guard !uids.isEmpty else { return }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for name in names {
            // pid 1 and ourselves are never a user's, but a wrong status line must not take them down.
            guard let pid = pid_t(name), pid > 1, pid != getpid(),
                let uid = Self.realUID(ofProcess: name), uids.contains(uid)
            else { continue }
            if kill(pid, SIGKILL) == 0 {
                report.endedProcesses += 1
            } else if errno != ESRCH {  // ESRCH: it ended on its own since /proc was listed
                report.errors.append("cannot end process \(pid): \(Self.lastError())")
            }
        }
    }

    /// The first number of the "Uid:" line of /proc/PID/status (real, effective, saved, fs).
    private static func realUID(ofProcess pid: String) -> Int? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/status") else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("Uid:") {
            return line.dropFirst(4).split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) }
        }
        return nil
    }
}

// MARK: - Removing homes

extension SystemWipe.Wiper {
    /// Directories that are never anybody's home to remove, nor are the directories right inside
    /// them (/var/lib, /usr/local, /etc/ssh), except those inside /home, which are the homes.
    private static let systemDirectories: Set<String> = [
        "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/opt", "/proc", "/root",
        "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var"
    ]

    private mutating func removeHomes(of users: [Account]) {
        var removed = Set<String>()
        for user in users {
            let home: String
            switch Self.checkedHome(user.home) {
            case .failure(let refusal):
                report.notes.append("home \"\(user.home)\" of \(user.name) not removed: \(refusal.reason)")
                continue
            case .success(let clean):
                home = clean
            }
            // Users sharing a home: the first one takes it, the others have nothing left to do.
            guard removed.insert(home).inserted else { continue }
            removeHome(home, as: user.home, of: user.name)
        }
    }

    private struct Refusal: Error {
        let reason: String
    }

    /// The home as a clean absolute path ("/home//alice/" is "/home/alice"), or why it must not be
    /// removed. Only the text is judged here; what is on disk is checked by `removeHome`.
    private static func checkedHome(_ home: String) -> Result<String, Refusal> {
        // A NUL would cut the path short when it is handed to the system: "/home\0/x" is "/home".
        guard home.hasPrefix("/"), !home.utf8.contains(0) else {
            return .failure(Refusal(reason: "not an absolute path"))
        }
        let components = home.split(separator: "/")
        guard !components.contains(".") && !components.contains("..") else {
            return .failure(Refusal(reason: "it contains \".\" or \"..\""))
        }
        guard components.count >= 2 else {
            return .failure(Refusal(reason: "it is a top-level directory"))
        }
        let clean = "/" + components.joined(separator: "/")
        let parent = "/" + components.dropLast().joined(separator: "/")
        if systemDirectories.contains(clean) || (systemDirectories.contains(parent) && parent != "/home") {
            return .failure(Refusal(reason: "it is a system directory or directly inside one"))
        }
        return .success(clean)
    }

    private mutating func removeHome(_ home: String, as written: String, of user: String) {
        let info: stat
        switch lookUp(home) {
        case .missing:
            report.notes.append("home \"\(written)\" of \(user) does not exist")
            return
        case .refused(let reason):
            report.notes.append("home \"\(written)\" of \(user) not removed: \(reason)")
            return
        case .found(let found):
            info = found
        }
        guard Self.isDirectory(info) else {
            report.notes.append("home \"\(written)\" of \(user) not removed: it is not a directory")
            return
        }
        let path = resolve(home)
        // Removing does not follow symlinks, but it does walk into mounted file systems: a bind
        // mount of / inside a home would otherwise be emptied with it.
        if let mount = Self.firstMountPoint(below: path, device: info.st_dev) {
            let shown = root == "/" ? mount : String(mount.dropFirst(root.count))
            report.errors.append("home \"\(written)\" of \(user) not removed: \(shown) is a mount point")
            return
        }
        do {
            try FileManager.default.removeItem(atPath: path)
            report.removedHomes.append(written)
        } catch {
            report.errors.append("home \"\(written)\" of \(user): \(SystemCallError.reason(error))")
        }
    }

    /// The first directory below `top` that is on another device than `device`, if any.
    private static func firstMountPoint(below top: String, device: dev_t) -> String? {
        var pending = [top]
        while let directory = pending.popLast() {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for name in names {
                let path = directory + "/" + name
                var info = stat()
                guard lstat(path, &info) == 0, isDirectory(info) else { continue }
                if info.st_dev != device { return path }
                pending.append(path)
            }
        }
        return nil
    }
}

// MARK: - Deleting accounts

extension SystemWipe.Wiper {
    /// What becomes of one line of an account file.
    private enum LineEdit {
        case keep
        case drop
        case replace(String)
    }

    /// Rewrites shadow, group and gshadow before passwd: if the wipe is cut short, the users are
    /// still in passwd and running it again finds them and finishes.
    private mutating func deleteAccounts(_ users: [Account], keeping others: [Account], _ range: RegularUIDs) {
        guard !users.isEmpty else { return }
        let names = Set(users.map(\.name))

        rewrite("/etc/shadow") { line in
            let name = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            return names.contains(String(name)) ? .drop : .keep
        }

        var droppedGroups = Set<String>()
        let groupRewritten = rewrite("/etc/group") { line in
            let edit = Self.groupEdit(line, users: users, others: others)
            if case .drop = edit, let name = line.split(separator: ":").first { droppedGroups.insert(String(name)) }
            return edit
        }
        // Only drop from gshadow what is really gone from group, so the two files stay in step.
        let gone = groupRewritten ? droppedGroups : []
        rewrite("/etc/gshadow") { Self.gshadowEdit($0, users: names, groups: gone) }

        let passwdRewritten = rewrite("/etc/passwd", required: true) { line in
            guard let account = Account(line: line), range.isRegular(account.uid) else { return .keep }
            return .drop
        }
        if passwdRewritten { report.deletedAccounts = users.map(\.name) }
    }

    /// group: name:password:gid:members. Users leave every member list; a user's personal group
    /// (same name, the user's primary gid) goes too once nobody else is in it.
    private static func groupEdit(_ line: String, users: [Account], others: [Account]) -> LineEdit {
        let fields = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 4, !fields[0].isEmpty, let gid = Int(fields[2]) else { return .keep }
        let names = Set(users.map(\.name))
        let members = fields[3].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let remaining = members.filter { !names.contains($0) }

        let isPersonal = users.contains { $0.name == fields[0] && $0.gid == gid }
        // A remaining account whose primary group this is counts as a member even if not listed.
        let stillUsed = remaining.contains { !$0.isEmpty } || others.contains { $0.gid == gid }
        if isPersonal && !stillUsed { return .drop }
        if remaining == members { return .keep }
        return .replace(fields[0...2].joined(separator: ":") + ":" + remaining.joined(separator: ","))
    }

    /// gshadow: name:password:admins:members.
    private static func gshadowEdit(_ line: String, users: Set<String>, groups: Set<String>) -> LineEdit {
        var fields = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 4, !fields[0].isEmpty else { return .keep }
        if groups.contains(fields[0]) { return .drop }
        let original = fields
        for index in 2...3 {
            fields[index] = fields[index].split(separator: ",", omittingEmptySubsequences: false)
                .filter { !users.contains(String($0)) }
                .joined(separator: ",")
        }
        return fields == original ? .keep : .replace(fields.joined(separator: ":"))
    }

    /// Applies `decide` to every line of an account file and puts the result in place atomically.
    /// Lines that are kept, including any that are not UTF-8, are written back byte for byte.
    /// Returns true when the file now holds the result (or did not need to change). A missing file
    /// is fine unless `required`.
    @discardableResult
    private mutating func rewrite(_ file: String, required: Bool = false, _ decide: (String) -> LineEdit) -> Bool {
        let data: Data
        let original: stat
        switch readFile(file) {
        case .missing:
            if required { report.errors.append("\(file) does not exist") }
            return !required
        case .refused(let reason):
            report.errors.append("\(file) not changed: \(reason)")
            return false
        case .contents(let contents, let info):
            data = contents
            original = info
        }

        var changed = false
        var output: [Data] = []
        for line in Self.lines(of: data) {
            switch line.text.map(decide) ?? .keep {
            case .keep: output.append(line.bytes)
            case .drop: changed = true
            case .replace(let text):
                output.append(Data(text.utf8))
                changed = true
            }
        }
        guard changed else { return true }

        let result = Data(output.joined(separator: [0x0A]))
        if let failure = Self.replaceAtomically(resolve(file), with: result, like: original) {
            report.errors.append("\(file) not changed: \(failure)")
            return false
        }
        return true
    }

    /// Writes a temporary file next to `path` with the original's owner and mode, syncs it and
    /// renames it over `path`, so a crash leaves the old file or the new one, never half of one.
    /// Returns what went wrong, or nil.
    private static func replaceAtomically(_ path: String, with data: Data, like original: stat) -> String? {
        let directory = PathText.parent(path)
        var template = Array((directory + "/.rookery-wipe-XXXXXX").utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { return "cannot create a temporary file: \(lastError())" }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }

        // Owner before mode: changing the owner clears set-id bits.
        var failure: String?
        if !AtomicFile.writeAll(data, to: fd) {
            failure = "cannot write: \(lastError())"
        } else if fchown(fd, original.st_uid, original.st_gid) != 0 {
            failure = "cannot set the owner: \(lastError())"
        } else if fchmod(fd, original.st_mode & 0o7777) != 0 {
            failure = "cannot set the mode: \(lastError())"
        } else if fsync(fd) != 0 {
            failure = "cannot sync: \(lastError())"
        }
        close(fd)
        if failure == nil && rename(temporary, path) != 0 {
            failure = "cannot rename into place: \(lastError())"
        }
        guard failure == nil else {
            unlink(temporary)
            return failure
        }
        // The rename itself is only durable once the directory is synced.
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            fsync(directoryFD)
            close(directoryFD)
        }
        return nil
    }
}

// MARK: - Staying inside the system root

extension SystemWipe.Wiper {
    /// "/" for "/", "//" or "/./"; "/tmp/sandbox" for "/tmp/sandbox/". Nil for a relative path or
    /// one with "..", whose meaning depends on where the client runs or on symlinks.
    static func standardized(root: String) -> String? {
        guard root.hasPrefix("/"), !root.utf8.contains(0) else { return nil }
        let components = root.split(separator: "/").filter { $0 != "." }
        guard !components.contains("..") else { return nil }
        return "/" + components.joined(separator: "/")
    }

    /// Where the clean absolute `path` lives on the real file system.
    private func resolve(_ path: String) -> String {
        root == "/" ? path : root + path
    }

    private enum Lookup {
        case found(stat)
        case missing
        case refused(String)
    }

    /// Examines the clean absolute `path` under the root one component at a time with lstat, so
    /// that a symlink anywhere on the way (/home, /home/alice, /etc) is caught before it can lead
    /// out of the root. The root itself is trusted: it is what the client was told to use.
    private func lookUp(_ path: String) -> Lookup {
        let components = path.split(separator: "/")
        guard !components.isEmpty else { return .refused("that is the system root itself") }
        var inside = ""
        var info = stat()
        for (index, component) in components.enumerated() {
            inside += "/" + component
            guard lstat(resolve(inside), &info) == 0 else {
                if errno == ENOENT { return .missing }
                return .refused("cannot examine \(inside): \(Self.lastError())")
            }
            if info.st_mode & S_IFMT == S_IFLNK { return .refused("\(inside) is a symlink") }
            if index < components.count - 1 && !Self.isDirectory(info) {
                return .refused("\(inside) is not a directory")
            }
        }
        return .found(info)
    }

    private enum FileRead {
        case contents(Data, stat)
        case missing
        case refused(String)
    }

    /// A regular file under the root. Anything else (a FIFO would block the read forever) or a
    /// path through a symlink is refused.
    private func readFile(_ path: String) -> FileRead {
        switch lookUp(path) {
        case .missing:
            return .missing
        case .refused(let reason):
            return .refused(reason)
        case .found(let info):
            guard info.st_mode & S_IFMT == S_IFREG else { return .refused("\(path) is not a regular file") }
            guard let data = FileManager.default.contents(atPath: resolve(path)) else {
                return .refused("cannot read \(path)")
            }
            return .contents(data, info)
        }
    }

    /// A file's lines, split at "\n" only, each with its exact bytes and its text when it is UTF-8.
    /// Joining the bytes with "\n" gives back the file, final newline or not.
    private static func lines(of data: Data) -> [(bytes: Data, text: String?)] {
        data.split(separator: 0x0A, omittingEmptySubsequences: false).map { bytes in
            (Data(bytes), String(bytes: bytes, encoding: .utf8))
        }
    }

    private static func isDirectory(_ info: stat) -> Bool {
        info.st_mode & S_IFMT == S_IFDIR
    }

    private static func lastError() -> String {
        String(cString: strerror(errno))
    }
}
