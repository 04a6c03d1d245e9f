/// Why the plaintext of an authenticated frame is not a shell message: the peer is broken or of
/// another version, since no one else can make a frame that authenticates.
public enum ShellMessageError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case unknownType(UInt8)
    case wrongLength(type: String, count: Int, expected: Int)
    case tooLarge(count: Int, limit: Int)
    case reasonTooLong(count: Int, limit: Int)
    case reasonNotUTF8

    public var description: String {
        switch self {
        case .empty:
            return "the message is empty: it has no type byte"
        case .unknownType(let type):
            return "message type \(type) is unknown (1 data, 2 window size, 3 exit, 4 close): the other side speaks another version"
        case .wrongLength(let type, let count, let expected):
            return "a \(type) message is \(expected) bytes long, this one is \(count)"
        case .tooLarge(let count, let limit):
            return "the message is \(count) bytes, more than the \(limit) a frame may hold: send data in smaller pieces"
        case .reasonTooLong(let count, let limit):
            return "the close reason is \(count) bytes, more than the \(limit) allowed"
        case .reasonNotUTF8:
            return "the close reason is not UTF-8 text"
        }
    }
}
