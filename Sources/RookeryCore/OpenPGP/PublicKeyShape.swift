import FoundationEssentials

/// Checks that an enrolling device's `public_key` is a small, plain ASCII-armored public key
/// before gpg imports it: only key, user ID and signature packets, none compressed, a few of
/// them. A key Rookery's client makes (one ed25519 key, one user ID, one self-signature) is
/// about 600 bytes armored; a stranger's key block must not cost more to import than that.
public enum PublicKeyShape {
    public static let maxArmoredBytes = 8 * 1024
    public static let maxPackets = 16

    /// Public key, user ID, public subkey and signature (RFC 9580 section 5).
    static let allowedTags: Set<UInt8> = [6, 13, 14, 2]

    /// Returns the key's binary packets: import these, not the text, so that gpg reads exactly
    /// what was checked (gpg reads armor more loosely, taking malformed header lines as data).
    @discardableResult
    public static func check(armored text: String) throws -> Data {
        guard text.utf8.count <= maxArmoredBytes else {
            throw SignatureShape.Refusal(description: "public_key is \(text.utf8.count) bytes, over the limit of \(maxArmoredBytes)")
        }
        let binary = try dearmor(text)
        var packets = PacketReader(binary)
        var count = 0
        while !packets.atEnd {
            let (tag, _) = try packets.next()
            count += 1
            guard allowedTags.contains(tag) else {
                throw SignatureShape.Refusal(
                    description: "public_key holds an OpenPGP packet of type \(tag); only public keys, user IDs and signatures are accepted")
            }
            guard count <= maxPackets else {
                throw SignatureShape.Refusal(description: "public_key holds more than \(maxPackets) OpenPGP packets")
            }
        }
        guard count > 0 else { throw SignatureShape.Refusal(description: "public_key holds no OpenPGP packet") }
        return Data(binary)
    }

    /// The bytes inside one `PUBLIC KEY BLOCK` armor (RFC 9580 section 6.2): armor headers up to
    /// the blank line are skipped, and so is the optional checksum line.
    static func dearmor(_ text: String) throws -> [UInt8] {
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            .map { $0.trimmingWhitespace() }
        guard let begin = lines.firstIndex(of: "-----BEGIN PGP PUBLIC KEY BLOCK-----"),
            let end = lines.lastIndex(of: "-----END PGP PUBLIC KEY BLOCK-----"), begin < end,
            lines[..<begin].allSatisfy(\.isEmpty), lines[(end + 1)...].allSatisfy(\.isEmpty)
        else {
            throw SignatureShape.Refusal(description: "public_key is not one ASCII-armored public key block")
        }
        var inside = lines[(begin + 1)..<end]
        if let blank = inside.firstIndex(of: "") {
            // gpg takes a "header" line that is not `Key: value` as data: so must we, by refusing it.
            guard inside[..<blank].allSatisfy(isArmorHeader) else {
                throw SignatureShape.Refusal(description: "public_key's armor has a header line that is not Key: value")
            }
            inside = inside[(blank + 1)...]
        }
        let base64 = inside.filter { !$0.hasPrefix("=") && !$0.isEmpty }.joined()
        guard let bytes = Data(base64Encoded: base64) else {
            throw SignatureShape.Refusal(description: "public_key's armor is not base64")
        }
        return Array(bytes)
    }

    /// `Key: value`, the key of letters and digits (RFC 9580 section 6.2.2).
    private static func isArmorHeader(_ line: String) -> Bool {
        guard let colon = line.firstIndex(of: ":") else { return false }
        let key = line[..<colon]
        return !key.isEmpty && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
    }
}
