import Foundation
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

    public static func run(executable: String, arguments: [String], environment: [String: String],
                           timeout: TimeInterval) throws -> PluginProcessResult {
        guard let child = ChildProcess.spawn(executable, arguments, environment: environment,
                                             ownProcessGroup: true, captureStandardError: true) else {
            throw AtomicFile.posixError("start \(executable)")
        }
        let deadline = Date().addingTimeInterval(timeout)
        let output = child.readOutput(limit: maxOutputBytes, until: deadline)
        let termination = output == nil ? nil : child.waitForExit(until: deadline)
        // The group goes in every case: on timeout, and for stragglers a finished plugin left behind.
        child.stop()
        guard let output, let termination else {
            return PluginProcessResult(ending: .timedOut, stdout: Data(), stderr: Data())
        }
        let ending: PluginProcessResult.Ending = switch termination {
        case .exited(let code): .exited(code)
        case .signaled(let signal): .signaled(signal)
        }
        return PluginProcessResult(ending: ending, stdout: output.stdout, stderr: output.stderr)
    }
}
