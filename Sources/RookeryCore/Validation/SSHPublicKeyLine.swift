import FoundationEssentials

/// One line of an authorized_keys file as Rookery manages them: a key type, its base64 blob and
/// an optional comment, and no options. Options (`command="..."`, `from=...`) are refused: a
/// line that looks like a key to an admin's eye must grant exactly a login with that key. The
/// server checks every key of access.yml with this before it renders a file; the device checks
/// again before it writes one.
public enum SSHPublicKeyLine {
    public static let keyTypes: Set<String> = [
        "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"
    ]
    /// An RSA key of 16384 bits is about 2,800 characters of base64; nothing real is longer.
    public static let maxLength = 8192

    /// Why `line` is not a key line; nil when it is.
    public static func problem(_ line: String) -> String? {
        guard line.utf8.count <= maxLength else { return "longer than \(maxLength) bytes" }
        guard !line.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            return "contains a control character"
        }
        let fields = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard fields.count >= 2 else { return "not TYPE BASE64 [COMMENT]" }
        guard keyTypes.contains(String(fields[0])) else {
            return "key type \(fields[0].prefix(40)) is not one of \(keyTypes.sorted().joined(separator: ", ")) (options are not allowed)"
        }
        let blob = fields[1]
        guard blob.count >= 16, blob.utf8.allSatisfy(isBase64), Data(base64Encoded: String(blob)) != nil else {
            return "the key is not base64"
        }
        return nil
    }

    private static func isBase64(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x2B
            || byte == 0x2F || byte == 0x3D
    }
}
