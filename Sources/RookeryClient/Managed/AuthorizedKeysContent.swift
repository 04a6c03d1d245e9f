import FoundationEssentials
import RookeryCore

/// The authorized_keys text the server renders for one account, checked and made into the file
/// a device writes.
public enum AuthorizedKeysContent {
    /// The first line of every file Rookery writes, so whoever opens it knows edits will not last.
    public static let header = "# Managed by Rookery: this file is overwritten at every update, and keys added here are removed."
    /// A thousand keys are about half a megabyte.
    public static let maxBytes = 1 << 20

    /// Why `content` is refused; nil when every line is blank, a comment, or a key line without
    /// options (`SSHPublicKeyLine`, the same check the server makes before rendering). One bad
    /// line refuses the whole file: half of a file could lock out the people it was meant for.
    public static func problem(_ content: String) -> String? {
        guard content.utf8.count <= maxBytes else { return "the file is \(content.utf8.count) bytes, over the limit of \(maxBytes)" }
        // Split on scalars: as Characters, "\r\n" is one, and a line would hide its line end.
        for (index, scalars) in content.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if let scalar = scalars.first(where: isRefusedScalar) {
                return "line \(index + 1) holds the control character U+\(String(scalar.value, radix: 16, uppercase: true))"
            }
            let line = String(String.UnicodeScalarView(scalars))
            let text = line.drop { $0 == " " }
            if text.isEmpty || text.hasPrefix("#") { continue }
            if let problem = SSHPublicKeyLine.problem(line) { return "line \(index + 1): \(problem)" }
        }
        return nil
    }

    /// The file as written: the managed-by line, then `content`, ending with a line end.
    public static func rendered(_ content: String) -> String {
        let body = content.hasPrefix(header + "\n") || content == header ? String(content.dropFirst(header.count + 1)) : content
        guard !body.isEmpty else { return header + "\n" }
        return header + "\n" + body + (body.hasSuffix("\n") ? "" : "\n")
    }

    /// Control characters (C0, DEL, C1) and Unicode's own line breaks, which some tools end a
    /// line at and others do not. Line ends are split on before this is asked.
    static func isRefusedScalar(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }
}
