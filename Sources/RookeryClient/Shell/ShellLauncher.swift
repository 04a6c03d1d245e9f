import FoundationEssentials
import RookeryCore

#if canImport(Glibc)
import Glibc
#endif

/// Starts one detached `rookery-client shell-session` per shell offer, so that cron and the agent
/// return at once: each child has its own session and process group, the offer on its stdin,
/// /dev/null for its output (it logs to the client log itself).
///
/// Never two children for one session id: the launcher takes the session's lock file
/// (var/client/shell/ID.lock) and hands the locked descriptor to the child as descriptor 3, so the
/// lock is held from before the child exists until it exits; a session whose child finished
/// leaves ID.done and is not started again.
public struct ShellLauncher: Sendable {
    public let root: InstallRoot
    /// The rookery-client binary to run.
    public let binary: String
    let log: ClientLog

    /// The descriptor the child finds its session's lock on.
    public static let lockDescriptor: Int32 = 3
    /// glibc's POSIX_SPAWN_SETSID (spawn.h, behind _GNU_SOURCE, which Swift's Glibc does not see).
    static let spawnSetSID: Int32 = 0x80
    /// Done markers older than this are removed: the server forgets a session long before.
    static let doneKept: TimeInterval = 7 * 86_400

    public init(root: InstallRoot, binary: String = ShellLauncher.runningBinary, log: ClientLog) {
        self.root = root
        self.binary = binary
        self.log = log
    }

    public static func directory(_ root: InstallRoot) -> String { root.clientState + "/shell" }
    public static func lockPath(_ root: InstallRoot, _ id: String) -> String { directory(root) + "/\(id).lock" }
    public static func donePath(_ root: InstallRoot, _ id: String) -> String { directory(root) + "/\(id).done" }

    /// Whether the session's child finished (ID.done); reliable only while holding its lock.
    public static func isDone(_ root: InstallRoot, _ id: String) -> Bool { access(donePath(root, id), F_OK) == 0 }

    /// This process's own binary (so a child runs the same release as its parent).
    public static var runningBinary: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Starts a child for each offer whose session is neither running nor done; returns the
    /// children's pids. Returns without waiting for any of them.
    @discardableResult
    public func launch(_ offers: [ShellOffer]) -> [pid_t] {
        guard !offers.isEmpty else { return [] }
        if mkdir(Self.directory(root), 0o700) != 0 && errno != EEXIST {
            log.warning("shell: cannot make \(Self.directory(root)): \(String(cString: strerror(errno)))")
            return []
        }
        pruneDoneMarkers()
        return offers.compactMap { offer in
            // The id names files: checked before it reaches a path.
            guard ShellOffer.isSessionID(offer.sessionID) else {
                log.warning("shell: an offer with an invalid session id was ignored")
                return nil
            }
            return start(offer)
        }
    }

    private func start(_ offer: ShellOffer) -> pid_t? {
        let id = offer.sessionID
        let lock = open(Self.lockPath(root, id), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard lock >= 0 else {
            log.warning("shell \(id): cannot open its lock file: \(String(cString: strerror(errno)))")
            return nil
        }
        defer { close(lock) }
        // Held: a child runs it already.
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else { return nil }
        // Checked under the lock only: a child may write its marker and exit between a check made
        // before and the lock, and a second child would then run the session again.
        guard !Self.isDone(root, id) else { return nil }
        guard let json = try? JSONEncoder().encode(offer), let pid = spawn(stdin: json, lock: lock) else {
            log.warning("shell \(id): cannot start \(binary) shell-session: \(String(cString: strerror(errno)))")
            return nil
        }
        log.info("shell \(id): started shell-session (pid \(pid))")
        return pid
    }

    /// The child, in a session of its own, reading `stdin` from a pipe (an offer is far smaller
    /// than a pipe's buffer, so writing it cannot block).
    private func spawn(stdin: Data, lock: Int32) -> pid_t? {
        var ends: [Int32] = [-1, -1]
        guard stdin.count < 60_000, pipe(&ends) == 0 else { return nil }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        defer { close(ends[0]) }
        let written = stdin.withUnsafeBytes { write(ends[1], $0.baseAddress, $0.count) }
        close(ends[1])
        guard written == stdin.count else { return nil }
        return Self.spawnDetached(binary, ["shell-session", "--locked"], root: root, stdin: ends[0], extra: lock)
    }

    /// Starts `binary arguments` detached: its own session, stdin from `stdin` (else /dev/null),
    /// stdout and stderr to /dev/null, `extra` as descriptor 3, nothing else inherited.
    public static func spawnDetached(_ binary: String, _ arguments: [String], root: InstallRoot, stdin: Int32?, extra: Int32?) -> pid_t? {
        // Both moved above the descriptors the actions below write: a parent started with 0-2
        // closed may hold the lock or the pipe there, and an open or dup2 onto it would replace it
        // before it is copied (and dup2 onto itself would leave close-on-exec set).
        let stdin = stdin.map { fcntl($0, F_DUPFD_CLOEXEC, 10) }
        let extra = extra.map { fcntl($0, F_DUPFD_CLOEXEC, 10) }
        defer { for moved in [stdin, extra] { if let moved, moved >= 0 { close(moved) } } }
        guard stdin ?? 0 >= 0, extra ?? 0 >= 0 else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin {
            posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // dup2 clears close-on-exec on the copy: the child keeps the lock, and only it.
        if let extra { posix_spawn_file_actions_adddup2(&actions, extra, lockDescriptor) }
        // Nothing else: a descriptor the parent left inheritable must not outlive it in a session.
        let highest = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int32($0) }.max() ?? 1024
        for descriptor in (lockDescriptor + 1)...max(lockDescriptor + 1, highest) {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        if extra == nil { posix_spawn_file_actions_addclose(&actions, lockDescriptor) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        var allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | spawnSetSID))
        var environment = ProcessInfo.processInfo.environment
        environment["ROOKERY_HOME"] = root.path
        let argv = ([binary] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        var result = posix_spawn(&pid, binary, &actions, &attributes, argv, envp)
        // Busy: another thread forked while some file was open for writing; it passes at once.
        for _ in 0..<5 where result == ETXTBSY {
            usleep(20_000)
            result = posix_spawn(&pid, binary, &actions, &attributes, argv, envp)
        }
        guard result == 0 else {
            errno = result
            return nil
        }
        return pid
    }

    /// Collects children that have exited, so a long-running parent (the agent) leaves no zombies.
    public static func reapChildren() {
        var status: Int32 = 0
        while waitpid(-1, &status, WNOHANG) > 0 {}
    }

    private func pruneDoneMarkers() {
        let directory = Self.directory(root)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let cutoff = Date().addingTimeInterval(-Self.doneKept)
        // A session done a week ago is long gone on the server: its lock can go with its marker.
        for name in names where name.hasSuffix(".done") {
            let path = directory + "/" + name
            let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
            guard let modified, modified < cutoff else { continue }
            unlink(directory + "/" + name.dropLast(".done".count) + ".lock")
            unlink(path)
        }
    }
}
