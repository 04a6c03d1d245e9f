import RookeryCore

/// How much may wait for each side of a shell session: a sender past it waits until the other
/// side fetched, so a stalled reader cannot make the database grow.
public enum ShellFrameBounds {
    /// Frames waiting per direction.
    public static let maxWaiting = 256
    /// Bytes waiting per direction.
    public static let maxWaitingBytes = 1024 * 1024
    /// One frame, encoded: RookeryCore's bound, so whatever a channel may send fits.
    public static let maxFrameBytes = ShellFrame.maxEncodedCount
    /// A length prefix, a type byte and a tag.
    public static let minFrameBytes = ShellFrame.headerCount + ShellFrame.minSealedCount
}
