/// Why frames were not stored; nothing of the batch was.
public enum ShellFramesRefused: Error, Equatable, CustomStringConvertible {
    /// The direction already holds too many frames or bytes: fetch, then send again.
    case full(waitingFrames: Int, waitingBytes: Int)
    /// The batch says it starts past the next frame: a frame between was never stored.
    case gap(expected: Int64, first: Int64)
    /// A frame is longer than any frame a channel makes.
    case tooLarge(bytes: Int)
    /// A frame is shorter than any frame a channel makes.
    case tooSmall(bytes: Int)
    /// The session is not open (still requested, refused, closed, or unknown).
    case notOpen

    public var description: String {
        switch self {
        case .full(let frames, let bytes):
            "\(frames) frames (\(bytes) bytes) already wait for the other side; the bounds are \(ShellFrameBounds.maxWaiting) frames and \(ShellFrameBounds.maxWaitingBytes) bytes"
        case .gap(let expected, let first):
            "the frames start at \(first), but the next frame this direction takes is \(expected): one between is missing"
        case .tooLarge(let bytes): "a shell frame of \(bytes) bytes is over the \(ShellFrameBounds.maxFrameBytes) a frame can take"
        case .tooSmall(let bytes): "a shell frame of \(bytes) bytes is under the \(ShellFrameBounds.minFrameBytes) a frame takes"
        case .notOpen: "the shell session is not open"
        }
    }
}
