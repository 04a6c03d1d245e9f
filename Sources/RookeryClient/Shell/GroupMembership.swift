import FoundationEssentials
import RookeryPlugins

/// Which groups list an account as a member in a root's /etc/group (name:password:gid:members).
enum GroupMembership {
    /// setgroups refuses more than NGROUPS_MAX (65536); a real account has a handful.
    static let maxGroups = 1024

    /// The primary group first, then every group naming `account`; just the primary group when the
    /// file is missing.
    static func groups(of account: String, primary: UInt32, in root: SystemRoot) -> [UInt32] {
        var groups = [primary]
        let text = root.readFile("/etc/group") ?? ""
        for line in text.split(whereSeparator: \.isNewline) where groups.count < maxGroups {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count >= 4, let gid = UInt32(fields[2]), !groups.contains(gid) else { continue }
            if fields[3].split(separator: ",").contains(where: { $0 == account }) { groups.append(gid) }
        }
        return groups
    }
}
