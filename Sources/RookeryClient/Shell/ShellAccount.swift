import FoundationEssentials
import RookeryPlugins

/// The account a remote shell runs as, read from the passwd file under the device's system root.
public struct ShellAccount: Sendable, Equatable {
    public let name: String
    public let uid: UInt32
    public let gid: UInt32
    /// The shell starts here (or in "/" when it cannot enter it, as login does).
    public let home: String
    /// An absolute path; /bin/sh when the passwd field is empty, as passwd(5) says.
    public let shell: String
    /// Supplementary groups from the root's /etc/group, taken only when switching to the account.
    public let groups: [UInt32]

    public init(name: String, uid: UInt32, gid: UInt32, home: String, shell: String, groups: [UInt32] = []) {
        self.name = name
        self.uid = uid
        self.gid = gid
        self.home = home
        self.shell = shell
        self.groups = groups
    }

    /// Longer names are refused before any lookup (useradd allows 32).
    static let maxNameLength = 64

    /// The account called `name` in `root`'s /etc/passwd, its groups from `root`'s /etc/group.
    public static func named(_ name: String, in root: SystemRoot) throws(ShellSessionError) -> ShellAccount {
        guard !name.isEmpty, name.utf8.count <= maxNameLength, !name.contains(":"), !name.contains("\n") else {
            throw .badAccount(name: String(name.prefix(maxNameLength)), reason: "not a valid account name")
        }
        guard let entries = PasswdFile.read(root) else { throw .accountsUnreadable(root.resolve("/etc/passwd")) }
        guard let entry = entries.first(where: { $0.name == name }) else { throw .noSuchAccount(name) }
        guard let uid = UInt32(exactly: entry.uid), let gid = entry.gid.flatMap({ UInt32(exactly: $0) }) else {
            throw .badAccount(name: name, reason: "its uid or gid is not a valid number")
        }
        let shell = entry.shell.isEmpty ? "/bin/sh" : entry.shell
        guard shell.hasPrefix("/") else { throw .badAccount(name: name, reason: "its shell \(shell) is not an absolute path") }
        let home = entry.home.hasPrefix("/") ? entry.home : "/"
        return ShellAccount(
            name: name, uid: uid, gid: gid, home: home, shell: shell,
            groups: GroupMembership.groups(of: name, primary: gid, in: root))
    }
}
