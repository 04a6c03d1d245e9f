import FoundationEssentials
import RookeryCore
import RookeryPlugins

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

    public static func run(
        executable: String, arguments: [String], environment: [String: String],
        timeout: TimeInterval
    ) throws -> PluginProcessResult {
        let child = try start(executable, arguments, environment: environment)
        let deadline = Date().addingTimeInterval(timeout)
        let output = child.readOutput(limit: maxOutputBytes, until: deadline)
        let termination = output == nil ? nil : child.waitForExit(until: deadline)
        // The group goes in every case: on timeout, and for stragglers a finished plugin left behind.
        child.stop()
        guard let output, let termination else {
            return PluginProcessResult(ending: .timedOut, stdout: Data(), stderr: Data())
        }
        let ending: PluginProcessResult.Ending =
            switch termination {
            case .exited(let code): .exited(code)
            case .signaled(let signal): .signaled(signal)
            }
        return PluginProcessResult(ending: ending, stdout: output.stdout, stderr: output.stderr)
    }

    /// A file written moments ago (a patched plugin, a new release's binary) may still be open
    /// for writing in a child that another thread forked and that has not exec'd yet: starting it
    /// fails with ETXTBSY until then, which takes moments.
    private static func start(
        _ executable: String, _ arguments: [String],
        environment: [String: String]
    ) throws -> ChildProcess {
        for _ in 0..<20 {
            if let child = ChildProcess.spawn(
                executable, arguments, environment: environment,
                ownProcessGroup: true, captureStandardError: true)
            {
                return child
            }
            guard errno == ETXTBSY else { break }
            usleep(50_000)
        }
        throw AtomicFile.posixError("start \(executable)")
    }
}
