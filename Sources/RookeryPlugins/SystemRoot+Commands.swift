import FoundationEssentials
import RookeryCore

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
        guard
            let result = execute(
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
        guard let output, let termination = child.waitForExit(until: deadline) else {
            child.stop()
            return nil
        }
        return CommandResult(status: termination.status, output: String(decoding: output.stdout, as: UTF8.self))
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
