import Crypto
import Foundation

/// An Ed25519 OpenPGP v4 public key (key packet, user ID, positive self-certification, RFC 4880
/// with the EdDSA of RFC 9580's legacy form), made in-process: `bin/bench verify` seeds a
/// hundred thousand devices, and gpg would take hours to make their keys. The secret half is
/// dropped at once; seeded devices never sign.
struct BenchPublicKey {
    let fingerprint: String
    let armored: String

    init(userID: String, created: Date) {
        let secret = Curve25519.Signing.PrivateKey()
        let time = Self.bigEndian(UInt32(created.timeIntervalSince1970), bytes: 4)
        // Version 4, creation time, EdDSA (22), the Ed25519 curve's OID, and the point (0x40 prefix).
        let ed25519OID: [UInt8] = [0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01]
        let key: [UInt8] = [4] + time + [22, UInt8(ed25519OID.count)] + ed25519OID
            + Self.mpi([0x40] + Array(secret.publicKey.rawRepresentation))
        let keyHashed = [0x99] + Self.bigEndian(UInt32(key.count), bytes: 2) + key
        let fingerprintBytes = Array(Insecure.SHA1.hash(data: keyHashed))
        let user = Array(userID.utf8)

        // Issuer fingerprint, creation time, key flags certify+sign; SHA-256.
        let hashedSubpackets = Self.subpacket(33, [4] + fingerprintBytes) + Self.subpacket(2, time) + Self.subpacket(27, [0x03])
        let signed: [UInt8] = [4, 0x13, 22, 8] + Self.bigEndian(UInt32(hashedSubpackets.count), bytes: 2) + hashedSubpackets
        let digest = Array(SHA256.hash(data: keyHashed + [0xB4] + Self.bigEndian(UInt32(user.count), bytes: 4) + user
                                       + signed + [0x04, 0xFF] + Self.bigEndian(UInt32(signed.count), bytes: 4)))
        // Ed25519 over the digest; cannot fail with a key made just now.
        let rs = Array(try! secret.signature(for: digest))
        let unhashed = Self.subpacket(16, Array(fingerprintBytes.suffix(8)))
        let signature = signed + Self.bigEndian(UInt32(unhashed.count), bytes: 2) + unhashed + digest.prefix(2)
            + Self.mpi(Array(rs.prefix(32))) + Self.mpi(Array(rs.suffix(32)))

        let packets = Self.packet(6, key) + Self.packet(13, user) + Self.packet(2, signature)
        fingerprint = fingerprintBytes.map { String(format: "%02X", $0) }.joined()
        armored = Self.armor(packets)
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
