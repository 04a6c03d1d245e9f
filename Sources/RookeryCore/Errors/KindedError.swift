/// An error that says what kind of failure it is, so that every command turns it into the same
/// exit code (`ErrorKind.exitCode`), and what to do next when its message does not say it.
/// Library errors conform to it; the executables map it in one place each (`ErrorReport`).
public protocol KindedError: Error, CustomStringConvertible {
    var kind: ErrorKind { get }
    /// What to do next, said on a line of its own under the message.
    var hint: String? { get }
}

extension KindedError {
    public var hint: String? { nil }
}
