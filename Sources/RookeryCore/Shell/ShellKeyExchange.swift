import Crypto
import FoundationEssentials

/// One side's half of a shell session's key agreement: an ephemeral X25519 key, made for this
/// session only and never stored, and the derivation of the session's two direction keys from it
/// and the peer's public key.
public struct ShellKeyExchange: Sendable {
    /// An X25519 public key's size in bytes.
    public static let publicKeySize = 32

    public let side: ShellSide
    private let privateKey: Curve25519.KeyAgreement.PrivateKey

    /// A fresh ephemeral key for `side`.
    public init(side: ShellSide) {
        self.init(side: side, privateKey: Curve25519.KeyAgreement.PrivateKey())
    }

    init(side: ShellSide, privateKey: Curve25519.KeyAgreement.PrivateKey) {
        self.side = side
        self.privateKey = privateKey
    }

    /// This side's public key, 32 raw bytes, to send to the peer.
    public var publicKey: Data { privateKey.publicKey.rawRepresentation }

    /// The session's direction keys, from this side's private key and `peerPublicKey`, bound to
    /// `transcript`. Refuses a peer key of the wrong length, one the transcript does not name for
    /// the peer, and a low-order one; refuses a transcript that does not name this side's key.
    public func deriveKeys(peerPublicKey: Data, transcript: ShellTranscript) throws -> ShellSessionKeys {
        let peer = side.peer
        guard peerPublicKey.count == Self.publicKeySize else {
            throw ShellKeyExchangeError.wrongPublicKeyLength(whose: "\(peer.rawValue)'s", count: peerPublicKey.count)
        }
        guard transcript.publicKey(of: side) == publicKey else { throw ShellKeyExchangeError.notThisSidesKey(side: side) }
        guard transcript.publicKey(of: peer) == peerPublicKey else { throw ShellKeyExchangeError.peerKeyNotInTranscript(peer: peer) }

        let peerKey = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: peerPublicKey)
        let secret = try privateKey.sharedSecretFromKeyAgreement(with: peerKey)
        // swift-crypto leaves this check to the caller (RFC 7748 section 6.1): a low-order peer
        // key gives the all-zero secret whatever our private key is, so anyone could derive it.
        let allZero = secret.withUnsafeBytes { bytes in bytes.allSatisfy { $0 == 0 } }
        guard !allZero else { throw ShellKeyExchangeError.lowOrderPublicKey(whose: "\(peer.rawValue)'s") }

        let salt = transcript.encoded
        func derive(_ direction: ShellDirection) -> SymmetricKey {
            secret.hkdfDerivedSymmetricKey(using: SHA256.self, salt: salt, sharedInfo: direction.keyLabel, outputByteCount: 32)
        }
        return ShellSessionKeys(adminToDevice: derive(.adminToDevice), deviceToAdmin: derive(.deviceToAdmin))
    }
}
