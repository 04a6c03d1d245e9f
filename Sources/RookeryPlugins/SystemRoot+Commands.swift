import Foundation

/// What a finished command printed on stdout, and how it exited.
public struct CommandResult: Sendable {
    public let status: Int32
    public let output: String
}

extension SystemRoot {
    /// How long a command may run unless the caller says otherwise. Kept well below the client's hard
    /// timeout for a whole plugin, so a hanging tool is ended here and the plugin still answers.
    public static let defaultCommandTimeout: TimeInterval = 20

    /// Runs `root + absoluteExecutable` and returns its stdout when it exits with status 0; nil when it
    /// is missing, fails, or runs past `timeout`. See `execute` for how it runs.
    public func run(
        _ absoluteExecutable: String,
        _ arguments: [String],
        timeout: TimeInterval = SystemRoot.defaultCommandTimeout,
        environment: [String: String] = [:]
    ) -> String? {
        guard let result = execute(absoluteExecutable, arguments, timeout: timeout, environment: environment),
              result.status == 0
        else {
            return nil
        }
        return result.output
    }

    /// Runs `root + absoluteExecutable` and returns its exit status and stdout whatever the status;
    /// for tools whose exit status is the answer (`dnf check-update` exits 100 when updates wait).
    /// Returns nil when the executable is missing, cannot start, or runs past `timeout`.
    ///
    /// stdin is empty and stderr is discarded. The command runs in its own process group (Foundation
    /// does that), so a timeout kills the whole group: tools that start helpers (apt's download
    /// methods) leave nothing behind. The environment is the plugin's own with `LC_ALL=C`, so tools
    /// print the untranslated text the parsers expect; `environment` adds or replaces variables.
    public func execute(
        _ absoluteExecutable: String,
        _ arguments: [String],
        timeout: TimeInterval = SystemRoot.defaultCommandTimeout,
        environment: [String: String] = [:]
    ) -> CommandResult? {
        let executablePath = resolve(absoluteExecutable)
        guard FileManager.default.isExecutableFile(atPath: executablePath) else { return nil }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executablePath)
        process.arguments = arguments
        process.environment = Self.commandEnvironment.merging(environment) { _, added in added }
        process.standardInput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let stdout = Pipe()
        process.standardOutput = stdout

        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        do {
            try process.run()
        } catch {
            return nil
        }
        // Read while the command runs: a command that fills the pipe would otherwise block forever.
        let reader = PipeReader(stdout.fileHandleForReading, limit: SystemRoot.readLimit)

        let deadline = DispatchTime.now() + timeout
        guard exited.wait(timeout: deadline) == .success, let output = reader.wait(until: deadline) else {
            kill(-process.processIdentifier, SIGKILL)
            return nil
        }
        return CommandResult(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self))
    }

    /// The plugin's environment with a predictable language and a usable PATH (cron's is minimal).
    private static var commandEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C"
        environment["LANG"] = "C"
        if environment["PATH"]?.isEmpty ?? true {
            environment["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        }
        return environment
    }
}

/// Drains a pipe on a background thread, keeping at most `limit` bytes.
private final class PipeReader: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle, limit: Int) {
        DispatchQueue.global().async {
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                // Past the limit keep reading and dropping, so the command is never blocked on us.
                if self.data.count < limit {
                    self.data.append(chunk.prefix(limit - self.data.count))
                }
            }
            self.done.signal()
        }
    }

    /// Everything read, once the writer closed the pipe; nil if that did not happen by `deadline`
    /// (a background child of the command still holds it open).
    func wait(until deadline: DispatchTime) -> Data? {
        done.wait(timeout: deadline) == .success ? data : nil
    }
}
