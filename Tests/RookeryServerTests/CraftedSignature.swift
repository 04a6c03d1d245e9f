import Crypto
import Foundation
import RookeryCore

/// Builds v4 EdDSA signature packets over a binary document with whatever subpackets a test
/// needs (RFC 9580 5.2.3), signed with a real key's secret: the signatures gpg will not make
/// (unknown critical subpackets, dates before the key, no issuer). gpg's verdict on them is
/// still the reference.
struct CraftedSignature {
    var hashed: [UInt8] = []
    var unhashed: [UInt8] = []
    var hashAlgorithm: UInt8 = 10

    /// A subpacket: length (one byte here), type with the critical bit, body.
    static func subpacket(_ type: UInt8, critical: Bool = false, _ body: [UInt8]) -> [UInt8] {
        [UInt8(body.count + 1), type | (critical ? 0x80 : 0)] + body
    }

    static func time(_ type: UInt8, _ seconds: Int, critical: Bool = false) -> [UInt8] {
        subpacket(type, critical: critical, [UInt8(seconds >> 24 & 0xFF), UInt8(seconds >> 16 & 0xFF), UInt8(seconds >> 8 & 0xFF), UInt8(seconds & 0xFF)])
    }

    static func issuer(_ fingerprint: String) -> [UInt8] { subpacket(33, [4] + Hex.bytes(fingerprint)!) }
    static func issuerKeyID(_ fingerprint: String) -> [UInt8] { subpacket(16, Array(Hex.bytes(fingerprint)!.suffix(8))) }

    /// What gpg itself writes: issuer fingerprint and creation time hashed, key ID unhashed.
    static func plain(by fingerprint: String, at time: Int) -> CraftedSignature {
        CraftedSignature(hashed: issuer(fingerprint) + Self.time(2, time), unhashed: issuerKeyID(fingerprint))
    }

    func sign(_ data: Data, with key: Curve25519.Signing.PrivateKey) throws -> Data {
        let head: [UInt8] = [4, 0x00, 22, hashAlgorithm, UInt8(hashed.count >> 8), UInt8(hashed.count & 0xFF)] + hashed
        let trailer: [UInt8] = [4, 0xFF, 0, 0, UInt8(head.count >> 8), UInt8(head.count & 0xFF)]
        let message = Data(data) + head + trailer
        let digest: [UInt8] = hashAlgorithm == 8 ? Array(SHA256.hash(data: message)) : Array(SHA512.hash(data: message))
        let signature = [UInt8](try key.signature(for: digest))
        let body =
            head + [UInt8(unhashed.count >> 8), UInt8(unhashed.count & 0xFF)] + unhashed
            + digest.prefix(2) + Self.mpi(signature.prefix(32)) + Self.mpi(signature.suffix(32))
        let length = body.count < 192 ? [UInt8(body.count)] : [UInt8((body.count - 192) >> 8 + 192), UInt8((body.count - 192) & 0xFF)]
        return Data([0xC2] + length + body)
    }

    /// An MPI: bit count, then the number without leading zero bytes.
    static func mpi(_ number: ArraySlice<UInt8>) -> [UInt8] {
        let trimmed = number.drop { $0 == 0 }
        let bits = trimmed.first.map { trimmed.count * 8 - $0.leadingZeroBitCount } ?? 0
        return [UInt8(bits >> 8), UInt8(bits & 0xFF)] + trimmed
    }
}
