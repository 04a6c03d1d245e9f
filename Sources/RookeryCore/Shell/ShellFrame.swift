import FoundationEssentials

/// One encoded shell frame: `length (u32 BE) | ciphertext | tag`, where length counts the
/// ciphertext and the tag. A value of this type always has a length prefix within bounds that
/// matches its bytes; whether it authenticates is the channel's to say.
public struct ShellFrame: Sendable, Equatable {
    /// The most plaintext bytes a frame carries (a message's type byte and fields).
    public static let maxPayload = 64 * 1024
    /// ChaCha20-Poly1305's tag.
    public static let tagCount = 16
    /// The length prefix.
    public static let headerCount = 4
    /// The largest length a prefix may give: a full payload and its tag.
    public static let maxSealedCount = maxPayload + tagCount
    /// The smallest: a message is at least its type byte.
    public static let minSealedCount = 1 + tagCount
    /// The most bytes one encoded frame takes on the wire.
    public static let maxEncodedCount = headerCount + maxSealedCount

    /// The frame as it goes on the wire.
    public let encoded: Data

    /// `encoded`, which must be exactly one frame.
    public init(encoded: Data) throws {
        let bytes = Array(encoded)
        guard bytes.count >= Self.headerCount else { throw ShellChannelError.streamCut(unreadCount: bytes.count) }
        let declared = try Self.sealedCount(header: bytes[0..<Self.headerCount])
        guard bytes.count - Self.headerCount == declared else {
            throw ShellChannelError.frameLengthMismatch(declared: declared, actual: bytes.count - Self.headerCount)
        }
        self.encoded = Data(bytes)
    }

    init(ciphertext: Data, tag: Data) {
        let count = UInt32(ciphertext.count + tag.count)
        let header = (0..<4).reversed().map { UInt8(truncatingIfNeeded: count >> (UInt32($0) * 8)) }
        encoded = Data(header) + ciphertext + tag
    }

    var ciphertext: Data { encoded.dropFirst(Self.headerCount).dropLast(Self.tagCount) }
    var tag: Data { encoded.suffix(Self.tagCount) }

    /// The length a 4-byte prefix gives, refused when no frame can be that long: checked before
    /// anything waits for, or allocates, that many bytes.
    static func sealedCount(header: ArraySlice<UInt8>) throws -> Int {
        let length = header.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard length >= Self.minSealedCount, length <= Self.maxSealedCount else {
            throw ShellChannelError.frameLengthOutOfBounds(length: length)
        }
        return Int(length)
    }
}
