import Crypto

/// One v4 signature packet body (RFC 9580 5.2.3) by an EdDSA key, read for the native checks:
/// its subpackets, the part its hash covers, and the two halves of the Ed25519 signature.
/// Anything else (another version or key algorithm, another hash than SHA-256 or SHA-512, a
/// malformed or doubled subpacket) is `NotUnderstood`.
struct SignaturePacket {
    let type: UInt8
    let hashAlgorithm: UInt8
    /// Version through the hashed subpackets: the part of the packet its hash covers.
    let hashedPart: ArraySlice<UInt8>
    let hashed: [Subpacket]
    let unhashed: [Subpacket]
    /// R and S, each 32 bytes.
    let signature: [UInt8]

    static let sha256: UInt8 = 8, sha512: UInt8 = 10

    /// One subpacket (RFC 9580 5.2.3.7): its type without the critical bit, and its body.
    struct Subpacket {
        let type: UInt8
        let critical: Bool
        let body: ArraySlice<UInt8>
    }

    /// Subpacket types (RFC 9580 5.2.3.7).
    enum Kind {
        static let creationTime: UInt8 = 2, signatureExpiration: UInt8 = 3, keyExpiration: UInt8 = 9
        static let issuerKeyID: UInt8 = 16, keyFlags: UInt8 = 27, embeddedSignature: UInt8 = 32
        static let issuerFingerprint: UInt8 = 33
    }

    init(body: ArraySlice<UInt8>) throws {
        var reader = ByteReader(body)
        let version = try reader.byte()
        guard version == 4 else { throw NotUnderstood("a version \(version) signature") }
        type = try reader.byte()
        let algorithm = try reader.byte()
        guard algorithm == KeyPacket.eddsaLegacy else { throw NotUnderstood("a signature of public-key algorithm \(algorithm)") }
        hashAlgorithm = try reader.byte()
        guard hashAlgorithm == Self.sha256 || hashAlgorithm == Self.sha512 else {
            throw NotUnderstood("a signature over hash algorithm \(hashAlgorithm)")
        }
        let hashedArea = try reader.bytes(reader.bigEndian(2))
        hashedPart = body[body.startIndex..<hashedArea.endIndex]
        hashed = try Self.subpackets(hashedArea)
        unhashed = try Self.subpackets(reader.bytes(reader.bigEndian(2)))
        _ = try reader.bytes(2)  // the left 16 bits of the hash: see isMade
        signature = try Self.scalar(&reader) + Self.scalar(&reader)
        guard reader.atEnd else { throw NotUnderstood("bytes after the signature's two numbers") }
    }

    /// The one subpacket of `type` in the hashed area, or nil. Doubled, or found in the
    /// unhashed area (where anyone may have put it), it is not understood.
    func hashedOnly(_ type: UInt8) throws -> ArraySlice<UInt8>? {
        guard !unhashed.contains(where: { $0.type == type }) else {
            throw NotUnderstood("subpacket \(type) outside the hashed area")
        }
        let found = hashed.filter { $0.type == type }
        guard found.count <= 1 else { throw NotUnderstood("subpacket \(type) twice") }
        return found.first?.body
    }

    /// A four-byte time subpacket (creation, expiration) as a number.
    func hashedTime(_ type: UInt8) throws -> UInt32? {
        guard let body = try hashedOnly(type) else { return nil }
        guard body.count == 4 else { throw NotUnderstood("subpacket \(type) is not four bytes") }
        return body.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Whom the signature names as its maker: every issuer key ID (either area, as gpg reads
    /// them) and v4 fingerprint. gpg believes an issuer fingerprint only in the hashed area, so
    /// one in the unhashed area is not understood here (GPGME judges it), never taken on trust.
    func issuers() throws -> (keyIDs: [ArraySlice<UInt8>], fingerprints: [ArraySlice<UInt8>]) {
        guard !unhashed.contains(where: { $0.type == Kind.issuerFingerprint }) else {
            throw NotUnderstood("an issuer fingerprint outside the hashed area")
        }
        let keyIDs = (hashed + unhashed).filter { $0.type == Kind.issuerKeyID }.map(\.body)
        let fingerprints = try hashed.filter { $0.type == Kind.issuerFingerprint }.map { subpacket in
            guard subpacket.body.count == 21, subpacket.body.first == 4 else {
                throw NotUnderstood("an issuer fingerprint that is not a v4 one")
            }
            return subpacket.body.dropFirst()
        }
        guard keyIDs.allSatisfy({ $0.count == 8 }) else { throw NotUnderstood("an issuer key ID that is not 8 bytes") }
        return (keyIDs, fingerprints)
    }

    /// Whether `key` made this signature over `parts` (then this packet's hashed part and the v4
    /// trailer, RFC 9580 5.2.4). The stated left 16 bits of the hash are not compared: they are
    /// outside what is signed, a hint for a quick reject, and gpg 2.2 accepts a good signature
    /// whatever they say (the differential test flips them).
    func isMade(by key: KeyPacket, over parts: [[UInt8]]) throws -> Bool {
        guard let point = key.ed25519 else { throw NotUnderstood("a signature by a key that is not Ed25519") }
        let count = UInt32(hashedPart.count)
        let trailer: [UInt8] = [4, 0xFF, UInt8(count >> 24), UInt8(count >> 16 & 0xFF), UInt8(count >> 8 & 0xFF), UInt8(count & 0xFF)]
        let digest: [UInt8] =
            hashAlgorithm == Self.sha256
            ? Self.digest(SHA256(), parts + [Array(hashedPart), trailer])
            : Self.digest(SHA512(), parts + [Array(hashedPart), trailer])
        return point.isValidSignature(signature, for: digest)
    }

    private static func digest<H: HashFunction>(_ function: H, _ parts: [[UInt8]]) -> [UInt8] {
        var function = function
        for part in parts { function.update(data: part) }
        return Array(function.finalize())
    }

    /// A subpacket area: each a length (one, two or five bytes), a type byte whose top bit is
    /// the critical flag, and a body.
    private static func subpackets(_ area: ArraySlice<UInt8>) throws -> [Subpacket] {
        var reader = ByteReader(area)
        var found: [Subpacket] = []
        while !reader.atEnd {
            let first = try reader.byte()
            let length: Int
            switch first {
            case 0..<192: length = Int(first)
            case 192..<255: length = (Int(first) - 192) << 8 + Int(try reader.byte()) + 192
            default: length = try reader.bigEndian(4)
            }
            guard length >= 1 else { throw NotUnderstood("an empty subpacket") }
            let typeByte = try reader.byte()
            found.append(Subpacket(type: typeByte & 0x7F, critical: typeByte & 0x80 != 0, body: try reader.bytes(length - 1)))
        }
        return found
    }

    /// An MPI of at most 256 bits, left-padded to 32 bytes.
    private static func scalar(_ reader: inout ByteReader) throws -> [UInt8] {
        let bits = try reader.bigEndian(2)
        let value = try reader.bytes((bits + 7) / 8)
        guard value.count <= 32 else { throw NotUnderstood("an EdDSA number over 256 bits") }
        return [UInt8](repeating: 0, count: 32 - value.count) + value
    }
}
