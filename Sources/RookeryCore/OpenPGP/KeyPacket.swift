import Crypto

/// One v4 public key or public subkey packet (RFC 9580 5.5.2): when it was made, its
/// fingerprint, and its Ed25519 point when it is an EdDSA key on Ed25519. Keys of other
/// algorithms are read only as far as their fingerprint, so that a signature naming them can be
/// told apart from a stranger's and handed to GPGME.
struct KeyPacket: Sendable {
    /// The packet body: what fingerprints and key signatures hash.
    let body: [UInt8]
    let creationTime: UInt32
    let algorithm: UInt8
    /// SHA-1 over 0x99, the body's two-byte length and the body (RFC 9580 5.5.4).
    let fingerprint: [UInt8]
    /// Nil unless the key is EdDSA (legacy algorithm 22) on the curve named by `ed25519OID`.
    let ed25519: Curve25519.Signing.PublicKey?

    /// 1.3.6.1.4.1.11591.15.1, as DER bytes without tag and length.
    static let ed25519OID: [UInt8] = [0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01]
    /// The only EdDSA key algorithm gpg 2.2 makes (RFC 9580 calls it EdDSALegacy).
    static let eddsaLegacy: UInt8 = 22

    init(body: ArraySlice<UInt8>) throws {
        self.body = Array(body)
        guard body.count <= 0xFFFF else { throw NotUnderstood("a key packet over 64 KiB") }
        var reader = ByteReader(body)
        let version = try reader.byte()
        guard version == 4 else { throw NotUnderstood("a version \(version) key") }
        creationTime = UInt32(try reader.bigEndian(4))
        algorithm = try reader.byte()
        fingerprint = Array(Insecure.SHA1.hash(data: Self.hashPrefix(body.count) + body))
        ed25519 = try algorithm == Self.eddsaLegacy ? Self.ed25519Point(&reader) : nil
    }

    /// The 8-byte key ID: the fingerprint's low 64 bits.
    var keyID: ArraySlice<UInt8> { fingerprint.suffix(8) }

    var fingerprintHex: String { Hex.string(fingerprint, uppercase: true) }

    /// What a signature over this key hashes for it: 0x99, two-byte length, body.
    var hashedForm: [UInt8] { Self.hashPrefix(body.count) + body }

    private static func hashPrefix(_ count: Int) -> [UInt8] { [0x99, UInt8(count >> 8), UInt8(count & 0xFF)] }

    /// The curve OID, then the point as an MPI: 0x40 and the 32-byte compressed point.
    private static func ed25519Point(_ reader: inout ByteReader) throws -> Curve25519.Signing.PublicKey? {
        let oid = try reader.bytes(Int(try reader.byte()))
        guard oid.elementsEqual(ed25519OID) else { return nil }
        let bits = try reader.bigEndian(2)
        let point = try reader.bytes((bits + 7) / 8)
        guard bits == 263, point.count == 33, point.first == 0x40, reader.atEnd else {
            throw NotUnderstood("an Ed25519 key whose point is not 0x40 and 32 bytes")
        }
        return try Curve25519.Signing.PublicKey(rawRepresentation: point.dropFirst())
    }
}
