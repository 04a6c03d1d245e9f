import FoundationEssentials

/// One account line of /etc/passwd: name:password:uid:gid:gecos:home:shell.
public struct PasswdEntry: Sendable {
    public let name: String
    public let uid: Int
    /// The primary group; nil when the field is not a number.
    public let gid: Int?
    public let home: String
    public let shell: String
}

public enum PasswdFile {
    /// Every well-formed line of /etc/passwd; nil when the file cannot be read.
    public static func read(_ root: SystemRoot) -> [PasswdEntry]? {
        guard let text = root.readFile("/etc/passwd") else { return nil }
        return text.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 7, !fields[0].isEmpty, let uid = Int(fields[2]) else { return nil }
            return PasswdEntry(
                name: String(fields[0]), uid: uid, gid: Int(fields[3]), home: String(fields[5]), shell: String(fields[6])
            )
        }
    }
}
