import Crypto
import Foundation
import RookeryCore
import RookeryServer

/// A bench device's Ed25519 OpenPGP v4 key (key packet, user ID, positive self-certification,
/// RFC 4880 with the EdDSA of RFC 9580's legacy form), made and used in-process. gpg takes tens
/// of milliseconds per key and per signature, more on a busy machine: `bin/bench verify` seeds a
/// hundred thousand devices, and a load of 20,000 signed submissions would go stale (the allowed
/// clock skew) before gpg had signed them. The signatures are what gpg makes for such a key
/// (binary document, SHA-256, issuer fingerprint and creation time hashed, issuer key ID not),
/// so the server checks them as it checks a real device's, with either verifier.
struct BenchDeviceKey: RequestSigner {
    let secret: Curve25519.Signing.PrivateKey
    let created: Date
    let fingerprint: String
    let armored: String
    private let fingerprintBytes: [UInt8]

    /// A key with `secret` (a new one if nil) for `userID`, made at `created`: the same three
    /// give the same key, so a kept fleet is read back from them.
    init(userID: String, created: Date, secret: Curve25519.Signing.PrivateKey = .init()) {
        self.secret = secret
        self.created = created
        let time = Self.bigEndian(UInt32(created.timeIntervalSince1970), bytes: 4)
        // Version 4, creation time, EdDSA (22), the Ed25519 curve's OID, and the point (0x40 prefix).
        let ed25519OID: [UInt8] = [0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01]
        let key: [UInt8] =
            [4] + time + [22, UInt8(ed25519OID.count)] + ed25519OID
            + Self.mpi([0x40] + Array(secret.publicKey.rawRepresentation))
        let keyHashed = [0x99] + Self.bigEndian(UInt32(key.count), bytes: 2) + key
        fingerprintBytes = Array(Insecure.SHA1.hash(data: keyHashed))
        let user = Array(userID.utf8)
        // Certify and sign (key flags 0x03).
        let certification = Self.signature(
            type: 0x13, by: secret, fingerprint: fingerprintBytes, at: created,
            extraHashed: Self.subpacket(27, [0x03]),
            over: keyHashed + [0xB4] + Self.bigEndian(UInt32(user.count), bytes: 4) + user)
        let packets = Self.packet(6, key) + Self.packet(13, user) + Self.packet(2, certification)
        fingerprint = Hex.string(fingerprintBytes, uppercase: true)
        armored = Self.armor(packets)
    }

    /// A binary detached signature of `data`, made now, as one old-format packet (as gpg writes it).
    func sign(_ data: Data, fingerprint: String) throws -> Data {
        guard fingerprint == self.fingerprint else { throw AdminError("bench key \(self.fingerprint) cannot sign as \(fingerprint)") }
        let body = Self.signature(type: 0x00, by: secret, fingerprint: fingerprintBytes, at: Date(), over: Array(data))
        return Data([0x88, UInt8(body.count)] + body)
    }

    /// A v4 EdDSA signature packet's body over `signedData` (RFC 4880 5.2.4): the hashed
    /// subpackets issuer fingerprint and creation time (then `extraHashed`), SHA-256, and the
    /// issuer key ID unhashed.
    private static func signature(
        type: UInt8, by secret: Curve25519.Signing.PrivateKey, fingerprint: [UInt8],
        at time: Date, extraHashed: [UInt8] = [], over signedData: [UInt8]
    ) -> [UInt8] {
        let hashedSubpackets =
            subpacket(33, [4] + fingerprint)
            + subpacket(2, bigEndian(UInt32(time.timeIntervalSince1970), bytes: 4)) + extraHashed
        let signed: [UInt8] = [4, type, 22, 8] + bigEndian(UInt32(hashedSubpackets.count), bytes: 2) + hashedSubpackets
        let digest = Array(SHA256.hash(data: signedData + signed + [0x04, 0xFF] + bigEndian(UInt32(signed.count), bytes: 4)))
        // Ed25519 over the digest; cannot fail with a well-formed key.
        let rs = Array(try! secret.signature(for: digest))
        let unhashed = subpacket(16, Array(fingerprint.suffix(8)))
        return signed + bigEndian(UInt32(unhashed.count), bytes: 2) + unhashed + digest.prefix(2)
            + mpi(Array(rs.prefix(32))) + mpi(Array(rs.suffix(32)))
    }

    /// A new-format packet: tag, length (one, two or five octets), body.
    private static func packet(_ tag: UInt8, _ body: [UInt8]) -> [UInt8] {
        let length: [UInt8]
        switch body.count {
        case ..<192: length = [UInt8(body.count)]
        case ..<8384: length = [UInt8((body.count - 192) >> 8 + 192), UInt8((body.count - 192) & 0xFF)]
        default: length = [0xFF] + bigEndian(UInt32(body.count), bytes: 4)
        }
        return [0xC0 | tag] + length + body
    }

    /// A signature subpacket small enough for a one-octet length.
    private static func subpacket(_ type: UInt8, _ data: [UInt8]) -> [UInt8] {
        [UInt8(data.count + 1), type] + data
    }

    /// A multiprecision integer: its bit count, then its bytes without leading zeros.
    private static func mpi(_ bytes: [UInt8]) -> [UInt8] {
        let significant = Array(bytes.drop { $0 == 0 })
        guard let top = significant.first else { return [0, 0] }
        let bits = (significant.count - 1) * 8 + (8 - top.leadingZeroBitCount)
        return bigEndian(UInt32(bits), bytes: 2) + significant
    }

    private static func bigEndian(_ value: UInt32, bytes: Int) -> [UInt8] {
        (0..<bytes).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    /// ASCII armor with its CRC-24 checksum (RFC 4880 section 6).
    private static func armor(_ data: [UInt8]) -> String {
        var crc: UInt32 = 0xB704CE
        for byte in data {
            crc ^= UInt32(byte) << 16
            for _ in 0..<8 {
                crc <<= 1
                if crc & 0x1000000 != 0 { crc ^= 0x1864CFB }
            }
        }
        let body = Data(data).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        let checksum = Data(bigEndian(crc & 0xFFFFFF, bytes: 3)).base64EncodedString()
        return "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n\(body)\n=\(checksum)\n-----END PGP PUBLIC KEY BLOCK-----\n"
    }
}
