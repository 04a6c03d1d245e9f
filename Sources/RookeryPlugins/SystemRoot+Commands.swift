import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a finished command printed on stdout, and how it exited.
public struct CommandResult: Sendable {
    public let status: Int32
    public let output: String
}

extension SystemRoot {
    /// How long a command may run unless the caller says otherwise. The client gives a whole plugin
    /// a hard timeout of its own (30 s by default), so a hanging tool is ended here first and the
    /// plugin can still answer with what else it found.
    public static let defaultCommandTimeout: TimeInterval = 10

    /// Runs `root + absoluteExecutable` and returns its stdout when it exits with status 0; nil when it
    /// is missing, fails, or runs past `timeout`. See `execute` for how it runs.
    public func run(
        _ absoluteExecutable: String,
        _ arguments: [String],
        timeout: TimeInterval = SystemRoot.defaultCommandTimeout,
        environment: [String: String] = [:],
        inheritingEnvironment: Bool = true
    ) -> String? {
        guard let result = execute(
            absoluteExecutable, arguments, timeout: timeout, environment: environment,
            inheritingEnvironment: inheritingEnvironment
        ), result.status == 0
        else {
            return nil
        }
        return result.output
    }

    /// Runs `root + absoluteExecutable` and returns its exit status and stdout whatever the status;
    /// for tools whose exit status is the answer (`dnf check-update` exits 100 when updates wait).
    /// Returns nil when the executable is missing or cannot start, or when its stdout is still open
    /// at `timeout`; then the command is killed.
    ///
    /// stdin is /dev/null and stderr is discarded. The environment is the plugin's own with
    /// `LC_ALL=C`, so tools print the untranslated text the parsers expect; `environment` adds or
    /// replaces variables. With `inheritingEnvironment: false` the command gets nothing of the
    /// plugin's environment: only `LC_ALL=C`, `LANG=C`, a fixed `PATH` and `environment` (for a
    /// command that runs as someone else, who must not be handed root's variables). The command
    /// stays in the plugin's process group on purpose: the client kills that group when the plugin
    /// times out or finishes, so nothing a command started (apt's download methods, say) outlives
    /// the plugin.
    public func execute(
        _ absoluteExecutable: String,
        _ arguments: [String],
        timeout: TimeInterval = SystemRoot.defaultCommandTimeout,
        environment: [String: String] = [:],
        inheritingEnvironment: Bool = true
    ) -> CommandResult? {
        let executablePath = resolve(absoluteExecutable)
        guard FileManager.default.isExecutableFile(atPath: executablePath) else { return nil }
        let deadline = Date().addingTimeInterval(timeout)
        let base = inheritingEnvironment ? Self.commandEnvironment : Self.minimalEnvironment
        let variables = base.merging(environment) { _, added in added }
        guard let child = ChildProcess.spawn(executablePath, arguments, environment: variables) else { return nil }
        // Read while the command runs: a command that fills the pipe would otherwise block forever.
        let output = child.readOutput(limit: SystemRoot.readLimit, until: deadline)
        guard let output, let status = child.waitForExit(until: deadline) else {
            child.stop()
            return nil
        }
        return CommandResult(status: status, output: String(decoding: output, as: UTF8.self))
    }

    /// The PATH a command gets when the plugin has none (cron's environment is minimal).
    private static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The plugin's environment with a predictable language and a usable PATH.
    private static var commandEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C"
        environment["LANG"] = "C"
        if environment["PATH"]?.isEmpty ?? true {
            environment["PATH"] = defaultPath
        }
        return environment
    }

    /// A predictable language and a fixed PATH, and nothing of the plugin's own environment.
    private static let minimalEnvironment = ["LC_ALL": "C", "LANG": "C", "PATH": defaultPath]
}

/// A command started with posix_spawn, its stdout connected to a pipe read here.
///
/// Foundation's Process is not used because it puts every child in a new process group, out of
/// reach of the client's kill of the plugin's group.
private final class ChildProcess {
    private let pid: pid_t
    private let stdout: Int32
    private var exited = false

    private init(pid: pid_t, stdout: Int32) {
        self.pid = pid
        self.stdout = stdout
    }

    deinit {
        close(stdout)
    }

    static func spawn(_ path: String, _ arguments: [String], environment: [String: String]) -> ChildProcess? {
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else { return nil }
        // Close-on-exec, so commands started at the same time by other threads do not inherit them.
        for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let (readEnd, writeEnd) = (pipeEnds[0], pipeEnds[1])

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // The command inherits nothing else. A file the plugin (or, in tests, another thread) has open
        // for writing would otherwise stay open in the command, and running that file would fail
        // with "text file busy". Closing a descriptor that is not open is harmless here.
        for descriptor in 3...max(3, highestOpenDescriptor()) {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }

        // Signals the plugin blocks or ignores would be inherited; the command gets the defaults.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        var allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }

        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        close(writeEnd)
        guard spawned == 0 else {
            close(readEnd)
            return nil
        }
        return ChildProcess(pid: pid, stdout: readEnd)
    }

    /// This process's highest open file descriptor, from the real /proc (not the root: this is about
    /// the plugin itself).
    private static func highestOpenDescriptor() -> Int32 {
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return open.compactMap { Int32($0) }.max() ?? 1024
    }

    /// Everything the command writes until it closes stdout, keeping at most `limit` bytes (the rest
    /// is read and dropped, so the command never blocks on a full pipe); nil if stdout is still open
    /// at `deadline`.
    func readOutput(limit: Int, until deadline: Date) -> Data? {
        var output = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return nil }
            var request = pollfd(fd: stdout, events: Int16(POLLIN), revents: 0)
            let ready = poll(&request, 1, Int32(min(remaining, 1) * 1000) + 1)
            if ready < 0, errno != EINTR { return nil }
            if ready <= 0 { continue }
            let count = read(stdout, &buffer, buffer.count)
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return nil
            }
            if count == 0 { return output }
            output.append(contentsOf: buffer.prefix(min(count, max(0, limit - output.count))))
        }
    }

    /// The exit status (or 128 + the signal that ended it), once the command has exited; nil if it
    /// is still running at `deadline`.
    func waitForExit(until deadline: Date) -> Int32? {
        while true {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                exited = true
                let signal = status & 0x7F
                return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
            }
            if result < 0, errno != EINTR { return nil }
            guard Date() < deadline else { return nil }
            usleep(5_000)
        }
    }

    /// Ends a command that overran its time, and collects it so it leaves no zombie behind.
    func stop() {
        guard !exited else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        exited = true
    }
}
