/// Why a shell channel or frame stream stopped. After any of these but `messageRefused` the
/// channel is closed for good and repeats the same error on every later call: a stream that lost
/// one frame cannot be trusted to resume.
public enum ShellChannelError: KindedError, Equatable, Sendable {
    /// The frame did not open under the expected key and counter.
    case authenticationFailed(frame: UInt64)
    /// The frame opened but does not hold a shell message: the peer is broken.
    case malformedMessage(frame: UInt64, ShellMessageError)
    /// A length prefix outside what a frame can be; the stream is damaged or not a shell stream.
    case frameLengthOutOfBounds(length: UInt32)
    /// The bytes given as one frame are not as long as its length prefix says.
    case frameLengthMismatch(declared: Int, actual: Int)
    /// The stream ended inside a frame.
    case streamCut(unreadCount: Int)
    /// More unread bytes than the decoder holds; the reader is not taking frames out.
    case bufferFull(limit: Int)
    /// 2^64-1 frames in one direction: the counter would repeat a nonce.
    case counterExhausted(ShellDirection)
    /// A message this side was asked to send cannot be encoded; nothing was sent.
    case messageRefused(ShellMessageError)

    public var kind: ErrorKind { .failed }

    public var description: String {
        switch self {
        case .authenticationFailed(let frame):
            return "frame \(frame) failed to authenticate: altered, dropped, reordered or replayed; the shell session is closed"
        case .malformedMessage(let frame, let problem):
            return "frame \(frame) authenticated but is not a shell message (\(problem)); the shell session is closed"
        case .frameLengthOutOfBounds(let length):
            return
                "a frame claims \(length) bytes, outside the \(ShellFrame.minSealedCount) to \(ShellFrame.maxSealedCount) a shell frame holds: the stream is damaged or not a shell stream; the shell session is closed"
        case .frameLengthMismatch(let declared, let actual):
            return "a frame's length says \(declared) bytes follow but \(actual) do: the frame was cut or run into another; the shell session is closed"
        case .streamCut(let unreadCount):
            return "the stream ended inside a frame (\(unreadCount) bytes of it arrived): the frame was cut; the shell session is closed"
        case .bufferFull(let limit):
            return "more than \(limit) bytes of shell frames wait unread: the reader fell behind; the shell session is closed"
        case .counterExhausted(let direction):
            return "the \(direction.rawValue) frame counter is used up: the session must be reopened with new keys"
        case .messageRefused(let problem):
            return "cannot send that shell message: \(problem)"
        }
    }
}
