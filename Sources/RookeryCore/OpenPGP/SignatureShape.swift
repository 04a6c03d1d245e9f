/// Checks that bytes claiming to be a detached signature are exactly one small OpenPGP signature
/// packet of the expected kind, before gpg ever sees them.
///
/// gpg checks whatever it is given, however it is packed: one compressed packet holding twenty
/// thousand copies of a valid signature kept it busy for most of a minute per request. So
/// nothing reaches it but a single v4 or v6 signature packet over a binary document, with a
/// definite length, under `maxBytes`, and nothing before or after it. Every signature Rookery
/// makes (ed25519, and RSA keys up to 8192 bits) has this shape and is far smaller.
public enum SignatureShape {
    /// The largest signature accepted, header included (an RSA-8192 signature is about 1.1 KB).
    public static let maxBytes = 2048

    /// The one signature type Rookery makes and accepts: over a binary document (RFC 9580 5.2.1).
    static let binaryDocument: UInt8 = 0x00
    static let signatureTag: UInt8 = 2

    public struct Refusal: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Throws a `Refusal` naming what is wrong unless `signature` is exactly one well-formed
    /// v4 or v6 binary-document signature packet of at most `maxBytes`.
    public static func check(_ signature: [UInt8]) throws {
        guard !signature.isEmpty else { throw Refusal(description: "the signature is empty") }
        guard signature.count <= maxBytes else {
            throw Refusal(description: "the signature is \(signature.count) bytes, over the limit of \(maxBytes)")
        }
        var packet = PacketReader(signature)
        let (tag, body) = try packet.next()
        guard tag == signatureTag else {
            throw Refusal(description: "the signature holds an OpenPGP packet of type \(tag), not one signature (type 2)")
        }
        guard packet.atEnd else { throw Refusal(description: "the signature holds more than one OpenPGP packet") }
        try checkBody(body)
    }

    public static func check(_ signature: some Sequence<UInt8>) throws {
        try check(Array(signature))
    }

    /// Version, type and the lengths inside, so that what gpg parses is what was measured.
    private static func checkBody(_ body: ArraySlice<UInt8>) throws {
        var reader = ByteReader(body)
        let version = try reader.byte()
        guard version == 4 || version == 6 else {
            throw Refusal(description: "signature version \(version); only versions 4 and 6 are accepted")
        }
        let type = try reader.byte()
        guard type == binaryDocument else {
            throw Refusal(description: "signature type 0x\(Hex.string([type])); only 0x00 (a binary document) is accepted")
        }
        _ = try reader.bytes(2)  // public-key and hash algorithms: gpg judges those
        let areaLength = version == 4 ? 2 : 4
        try reader.skip(reader.bigEndian(areaLength))  // hashed subpackets
        try reader.skip(reader.bigEndian(areaLength))  // unhashed subpackets
        _ = try reader.bytes(2)  // the hash's first two bytes
        if version == 6 { try reader.skip(Int(try reader.byte())) }  // the salt
        guard !reader.atEnd else { throw Refusal(description: "the signature packet ends before its signature") }
    }
}

/// Reads OpenPGP packet headers (RFC 9580 section 4.2), old and new format, refusing
/// indeterminate and partial lengths: a signature never needs them.
struct PacketReader {
    private var reader: ByteReader

    init(_ bytes: [UInt8]) { reader = ByteReader(bytes[...]) }

    var atEnd: Bool { reader.atEnd }

    /// The next packet's tag and body.
    mutating func next() throws -> (tag: UInt8, body: ArraySlice<UInt8>) {
        let header = try reader.byte()
        guard header & 0x80 != 0 else { throw SignatureShape.Refusal(description: "not an OpenPGP packet") }
        let tag: UInt8
        let length: Int
        if header & 0x40 != 0 {
            tag = header & 0x3F
            let first = try reader.byte()
            switch first {
            case 0..<192: length = Int(first)
            case 192..<224: length = (Int(first) - 192) << 8 + Int(try reader.byte()) + 192
            case 255: length = try reader.bigEndian(4)
            default: throw SignatureShape.Refusal(description: "a packet of partial lengths")
            }
        } else {
            tag = (header >> 2) & 0x0F
            switch header & 0x03 {
            case 0: length = Int(try reader.byte())
            case 1: length = try reader.bigEndian(2)
            case 2: length = try reader.bigEndian(4)
            default: throw SignatureShape.Refusal(description: "a packet of indeterminate length")
            }
        }
        return (tag, try reader.bytes(length))
    }
}

/// Bounds-checked reading through a byte slice.
struct ByteReader {
    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    var atEnd: Bool { bytes.isEmpty }

    mutating func byte() throws -> UInt8 {
        guard let first = bytes.popFirst() else { throw truncated }
        return first
    }

    mutating func bytes(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count else { throw truncated }
        let taken = bytes.prefix(count)
        bytes = bytes.dropFirst(count)
        return taken
    }

    mutating func skip(_ count: Int) throws { _ = try bytes(count) }

    /// A big-endian unsigned number of `width` bytes.
    mutating func bigEndian(_ width: Int) throws -> Int {
        try bytes(width).reduce(0) { $0 << 8 | Int($1) }
    }

    private var truncated: SignatureShape.Refusal { SignatureShape.Refusal(description: "the packet is cut short") }
}
