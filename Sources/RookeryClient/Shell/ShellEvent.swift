/// What one `ShellSession.step` saw.
public enum ShellEvent: Sendable, Equatable {
    /// Bytes the shell wrote to its terminal.
    case output([UInt8])
    /// The session is over; nothing follows.
    case ended(ShellEnding)
}
