import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// A program started with posix_spawn, its stdout (and, if asked, stderr) on pipes read here. The
/// client's plugin runner, the plugins' own commands and gzip (`Gzip`) use it.
///
/// Foundation's Process is not used because it decides process groups itself: a plugin must get a
/// group of its own (so the client can kill everything it started), while a plugin's commands must
/// stay in the plugin's group (so they die with it).
public final class ChildProcess {
    /// How a program ended.
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)

        /// The shell's convention: the exit status, or 128 + the signal.
        public var status: Int32 {
            switch self {
            case .exited(let code): return code
            case .signaled(let signal): return 128 + signal
            }
        }
    }

    public let pid: pid_t
    private let ownProcessGroup: Bool
    private let stdout: Int32
    private let stderr: Int32?
    private var exited = false

    private init(pid: pid_t, ownProcessGroup: Bool, stdout: Int32, stderr: Int32?) {
        self.pid = pid
        self.ownProcessGroup = ownProcessGroup
        self.stdout = stdout
        self.stderr = stderr
    }

    deinit {
        close(stdout)
        if let stderr { close(stderr) }
    }

    /// Starts `path` with stdin from `standardInput` (an open descriptor, else /dev/null), stdout on
    /// a pipe, stderr on a pipe when `captureStandardError` (else /dev/null), no other inherited
    /// descriptors and default signals. `ownProcessGroup` puts it at the head of a new process
    /// group. Nil when it cannot start.
    public static func spawn(
        _ path: String, _ arguments: [String], environment: [String: String],
        ownProcessGroup: Bool = false, captureStandardError: Bool = false,
        standardInput: Int32? = nil
    ) -> ChildProcess? {
        guard let output = makePipe() else { return nil }
        let errors = captureStandardError ? makePipe() : nil
        if captureStandardError && errors == nil {
            close(output.read)
            close(output.write)
            return nil
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let standardInput {
            posix_spawn_file_actions_adddup2(&actions, standardInput, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, output.write, 1)
        if let errors {
            posix_spawn_file_actions_adddup2(&actions, errors.write, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        // The program inherits nothing else. A file this process (or, in tests, another thread) has
        // open for writing would otherwise stay open in it, and running that file would fail with
        // "text file busy". Closing a descriptor that is not open is harmless here.
        for descriptor in 3...max(3, highestOpenDescriptor()) {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }

        // Signals this process blocks or ignores would be inherited; the program gets the defaults.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        var allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if ownProcessGroup {
            flags |= POSIX_SPAWN_SETPGROUP
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }

        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        close(output.write)
        if let errors { close(errors.write) }
        guard spawned == 0 else {
            close(output.read)
            if let errors { close(errors.read) }
            errno = spawned  // posix_spawn returns its error; callers read errno
            return nil
        }
        return ChildProcess(pid: pid, ownProcessGroup: ownProcessGroup, stdout: output.read, stderr: errors?.read)
    }

    /// A pipe whose ends are close-on-exec, so programs started at the same time by other threads
    /// do not inherit them (posix_spawn dups what it needs).
    private static func makePipe() -> (read: Int32, write: Int32)? {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return nil }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return (ends[0], ends[1])
    }

    /// This process's highest open file descriptor.
    private static func highestOpenDescriptor() -> Int32 {
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return open.compactMap { Int32($0) }.max() ?? 1024
    }

    /// Everything the program writes until it closes its pipes, keeping at most `limit` bytes of
    /// stdout and 64 KiB of stderr (the rest is read and dropped, so it never blocks on a full
    /// pipe); nil if a pipe is still open at `deadline`. With `stopOverLimit`, reading stops (and
    /// `overLimit` says so) as soon as stdout has more than `limit` bytes: the caller then stops
    /// the program rather than let it run on (a decompression bomb).
    public func readOutput(
        limit: Int, until deadline: Date,
        stopOverLimit: Bool = false
    ) -> (stdout: Data, stderr: Data, overLimit: Bool)? {
        var collected = [Data(), Data()]
        let limits = [limit, 64 * 1024]
        var fds = [
            pollfd(fd: stdout, events: Int16(POLLIN), revents: 0),
            pollfd(fd: stderr ?? -1, events: Int16(POLLIN), revents: 0)
        ]
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while fds.contains(where: { $0.fd >= 0 }) {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return nil }
            let ready = poll(&fds, 2, Int32(min(remaining, 1) * 1000) + 1)
            if ready < 0, errno != EINTR { return nil }
            for index in 0..<2 where fds[index].fd >= 0 && fds[index].revents != 0 {
                let count = read(fds[index].fd, &buffer, buffer.count)
                if count < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    return nil
                }
                if count == 0 {
                    fds[index].fd = -1
                } else {
                    let room = max(0, limits[index] - collected[index].count)
                    if stopOverLimit && index == 0 && count > room { return (collected[0], collected[1], true) }
                    collected[index].append(contentsOf: buffer.prefix(min(count, room)))
                }
            }
        }
        return (collected[0], collected[1], false)
    }

    /// How the program ended, once it has; nil if it is still running at `deadline`.
    public func waitForExit(until deadline: Date) -> Termination? {
        while true {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                exited = true
                let signal = status & 0x7F
                return signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
            }
            if result < 0, errno != EINTR { return nil }
            guard Date() < deadline else { return nil }
            usleep(5_000)
        }
    }

    /// Kills the program (its whole group, when it has one of its own) and collects it, so it leaves
    /// no zombie. With a group of its own this also ends what it left running after it exited.
    public func stop() {
        if ownProcessGroup { kill(-pid, SIGKILL) }
        guard !exited else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        exited = true
    }
}
