import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How one plugin process ended.
public struct PluginProcessResult: Sendable {
    public enum Ending: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)
        case timedOut
    }
    public let ending: Ending
    public let stdout: Data
    public let stderr: Data
}

/// Runs one executable in a process group of its own, with a hard timeout after which the whole
/// group is killed: a plugin that forks children cannot leave them behind.
public enum PluginProcess {
    public static let maxOutputBytes = 4 * 1024 * 1024

    public static func run(executable: String, arguments: [String], environment: [String: String],
                           timeout: TimeInterval) throws -> PluginProcessResult {
        var stdoutPipe: [Int32] = [0, 0], stderrPipe: [Int32] = [0, 0]
        guard makePipe(&stdoutPipe), makePipe(&stderrPipe) else { throw AtomicFile.posixError("pipe") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }

        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(stdoutPipe[1])
        close(stderrPipe[1])
        defer { close(stdoutPipe[0]); close(stderrPipe[0]) }
        guard spawned == 0 else {
            errno = spawned
            throw AtomicFile.posixError("start \(executable)")
        }

        let (out, err, timedOut) = drain(stdout: stdoutPipe[0], stderr: stderrPipe[0],
                                         deadline: Date().addingTimeInterval(timeout))
        // The group goes in every case: on timeout, and for stragglers a finished plugin left behind.
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let ending: PluginProcessResult.Ending
        if timedOut { ending = .timedOut }
        else if status & 0x7f == 0 { ending = .exited((status >> 8) & 0xff) }
        else { ending = .signaled(status & 0x7f) }
        return PluginProcessResult(ending: ending, stdout: out, stderr: err)
    }

    /// A pipe whose ends are not inherited by other children (posix_spawn dups what it needs).
    private static func makePipe(_ ends: inout [Int32]) -> Bool {
        guard pipe(&ends) == 0 else { return false }
        for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }

    /// Reads both pipes until both close or the deadline passes.
    private static func drain(stdout: Int32, stderr: Int32, deadline: Date) -> (Data, Data, Bool) {
        var out = Data(), err = Data()
        var fds = [pollfd(fd: stdout, events: Int16(POLLIN), revents: 0),
                   pollfd(fd: stderr, events: Int16(POLLIN), revents: 0)]
        var open = 2
        var buffer = [UInt8](repeating: 0, count: 65536)
        while open > 0 {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return (out, err, true) }
            let ready = poll(&fds, 2, Int32(min(remaining * 1000, 1000)) + 1)
            if ready < 0 && errno != EINTR { break }
            for i in 0..<2 where fds[i].fd >= 0 && fds[i].revents != 0 {
                let n = read(fds[i].fd, &buffer, buffer.count)
                if n <= 0 {
                    fds[i].fd = -1
                    open -= 1
                } else if i == 0 {
                    if out.count < maxOutputBytes { out.append(contentsOf: buffer[0..<n]) }
                } else if err.count < 65536 {
                    err.append(contentsOf: buffer[0..<n])
                }
            }
        }
        return (out, err, false)
    }
}
