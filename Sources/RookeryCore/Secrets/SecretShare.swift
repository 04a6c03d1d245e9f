import Crypto
import FoundationEssentials

/// One keeper's share of a secret: the point (x, y) of every byte's polynomial, with all the
/// y values together in `bytes` (as long as the secret).
///
/// Printing a share (description, debug description, `dump`) shows its x and length only, so a
/// share that reaches a log or an error message gives nothing away.
public struct SecretShare: Equatable, Sendable {
    /// The x coordinate, 1...255 (the `.NNN` suffix of a gfsplit share file).
    public let x: UInt8
    public let bytes: Data

    public init(x: UInt8, bytes: Data) {
        self.x = x
        self.bytes = bytes
    }

    /// Lowercase hex SHA-256 of the bytes: lets a keeper's share be told from a damaged copy
    /// without revealing it.
    public var checksum: String {
        Hex.string(SHA256.hash(data: bytes))
    }
}

extension SecretShare: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "share \(x) (\(bytes.count) bytes)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["x": x, "length": bytes.count]) }
}
