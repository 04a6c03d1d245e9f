import FoundationEssentials

/// What one shell frame carries, once opened. The layout (a type byte, then fields) is in the
/// comment at the top of ShellChannel.swift.
public enum ShellMessage: Sendable, Equatable {
    /// Terminal bytes: keystrokes towards the device, output towards the admin.
    case data(Data)
    /// The admin's terminal size, in character cells.
    case windowSize(rows: UInt16, columns: UInt16)
    /// The remote shell ended with this status (128 + N when killed by signal N, as shells say).
    case exit(status: UInt8)
    /// The sender ends the session, saying why.
    case close(reason: String)

    /// The most terminal bytes one data message carries: the payload bound less the type byte.
    public static let maxDataCount = ShellFrame.maxPayload - 1
    /// The most bytes of a close reason: a sentence, not a transcript.
    public static let maxReasonCount = 1024

    enum TypeByte: UInt8 {
        case data = 1
        case windowSize = 2
        case exit = 3
        case close = 4
    }

    /// The plaintext of this message's frame.
    public func encoded() throws -> [UInt8] {
        switch self {
        case .data(let bytes):
            guard bytes.count <= Self.maxDataCount else {
                throw ShellMessageError.tooLarge(count: bytes.count + 1, limit: ShellFrame.maxPayload)
            }
            return [TypeByte.data.rawValue] + Array(bytes)
        case .windowSize(let rows, let columns):
            return [TypeByte.windowSize.rawValue, UInt8(rows >> 8), UInt8(rows & 0xFF), UInt8(columns >> 8), UInt8(columns & 0xFF)]
        case .exit(let status):
            return [TypeByte.exit.rawValue, status]
        case .close(let reason):
            let text = Array(reason.utf8)
            guard text.count <= Self.maxReasonCount else {
                throw ShellMessageError.reasonTooLong(count: text.count, limit: Self.maxReasonCount)
            }
            return [TypeByte.close.rawValue] + text
        }
    }

    /// The message `plaintext` encodes; refuses anything else, trailing bytes included.
    public init(decoding plaintext: [UInt8]) throws {
        guard let first = plaintext.first else { throw ShellMessageError.empty }
        guard plaintext.count <= ShellFrame.maxPayload else {
            throw ShellMessageError.tooLarge(count: plaintext.count, limit: ShellFrame.maxPayload)
        }
        guard let type = TypeByte(rawValue: first) else { throw ShellMessageError.unknownType(first) }
        let fields = plaintext.dropFirst()
        switch type {
        case .data:
            self = .data(Data(fields))
        case .windowSize:
            guard fields.count == 4 else { throw ShellMessageError.wrongLength(type: "window size", count: plaintext.count, expected: 5) }
            let bytes = Array(fields)
            self = .windowSize(rows: UInt16(bytes[0]) << 8 | UInt16(bytes[1]), columns: UInt16(bytes[2]) << 8 | UInt16(bytes[3]))
        case .exit:
            guard fields.count == 1 else { throw ShellMessageError.wrongLength(type: "exit", count: plaintext.count, expected: 2) }
            self = .exit(status: fields[fields.startIndex])
        case .close:
            guard fields.count <= Self.maxReasonCount else {
                throw ShellMessageError.reasonTooLong(count: fields.count, limit: Self.maxReasonCount)
            }
            guard let reason = String(validating: fields, as: UTF8.self) else { throw ShellMessageError.reasonNotUTF8 }
            self = .close(reason: reason)
        }
    }
}
