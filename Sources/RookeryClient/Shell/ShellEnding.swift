/// Why a shell session ended.
public enum ShellEndReason: String, Sendable, Codable, Equatable {
    /// The shell exited (or was killed by something inside the session).
    case exited
    /// Nothing was typed or printed for the idle timeout.
    case idleTimeout = "idle-timeout"
    /// `terminate()` was called: the admin closed it, or the agent is stopping.
    case terminated
}

/// How a shell session ended: the shell's status as shells report it, and why.
public struct ShellEnding: Sendable, Equatable, CustomStringConvertible {
    /// The exit code, or 128 + the signal that killed the shell; nil if it could not be collected.
    public let status: Int32?
    public let reason: ShellEndReason

    public init(status: Int32?, reason: ShellEndReason) {
        self.status = status
        self.reason = reason
    }

    public var description: String {
        let shown = status.map { "status \($0)" } ?? "an unknown status"
        switch reason {
        case .exited: return "the shell exited with \(shown)"
        case .idleTimeout: return "no input or output for the idle timeout: the session was closed (\(shown))"
        case .terminated: return "the session was closed on request (\(shown))"
        }
    }
}
