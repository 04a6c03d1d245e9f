import Foundation
import RookeryCore

/// The three files that say what the server manages on devices, as text: what `bin/groups
/// apply` records (with who applied them) and what every render reads back.
public struct ManagedConfigFiles: Sendable, Equatable {
    public var settings: String?
    public var firewall: String?
    public var access: String?

    public init(settings: String? = nil, firewall: String? = nil, access: String? = nil) {
        self.settings = settings
        self.firewall = firewall
        self.access = access
    }

    public static let settingsPath = "server/client-settings.yml"
    public static let firewallPath = "server/firewall.yml"
    public static let accessPath = "server/access.yml"

    /// The files as they are now under the install root; a missing one manages nothing.
    public static func read(_ root: InstallRoot) throws -> ManagedConfigFiles {
        func text(_ path: String) throws -> String? {
            let full = root.resolve(path)
            guard FileManager.default.fileExists(atPath: full) else { return nil }
            guard let data = FileManager.default.contents(atPath: full), let text = String(data: data, encoding: .utf8) else {
                throw SettingsError("cannot read \(full) as UTF-8 text")
            }
            return text
        }
        return ManagedConfigFiles(settings: try text(settingsPath), firewall: try text(firewallPath), access: try text(accessPath))
    }
}

/// What `ManagedConfigFiles` say, read and checked as a whole.
public struct ManagedConfig: Sendable {
    public var settings: ClientSettingsConfig?
    public var firewall: FirewallConfig?
    public var access: AccessConfig?

    public init(_ files: ManagedConfigFiles) throws {
        settings = try files.settings.map { try ClientSettingsConfig.parse($0, source: ManagedConfigFiles.settingsPath) }
        firewall = try files.firewall.map { try FirewallConfig.parse($0, source: ManagedConfigFiles.firewallPath) }
        access = try files.access.map { try AccessConfig.parse($0, source: ManagedConfigFiles.accessPath) }
    }

    /// Refuses files that name a group that does not exist: it would silently manage nothing.
    public func checkGroups(_ membership: GroupMembership) throws {
        let named: [(String, [String])] = [
            (ManagedConfigFiles.settingsPath, settings?.groupNames ?? []), (ManagedConfigFiles.firewallPath, firewall?.groupNames ?? []),
            (ManagedConfigFiles.accessPath, access?.groupNames ?? [])
        ]
        for (file, groups) in named {
            if let missing = groups.first(where: { !membership.exists($0) }) {
                throw SettingsError("\(file) names group \(missing), which does not exist; create it (bin/groups create \(missing)) or fix the file")
            }
        }
        // Addresses become other devices' rules: their source must be devices an admin chose, not
        // any device whose own report matches a condition.
        let dynamic = Set(membership.groups.filter(\.isDynamic).map(\.name))
        if let source = firewall?.rules.compactMap(\.fromGroup).first(where: dynamic.contains) {
            throw SettingsError(
                "\(ManagedConfigFiles.firewallPath): from_group \(source) is a dynamic group; a device joins it by what it "
                    + "reports itself, and its addresses would be let in. Use a static group (bin/groups create and add)")
        }
    }

    /// The groups any of the files names.
    public var groupNames: Set<String> {
        Set((settings?.groupNames ?? []) + (firewall?.groupNames ?? []) + (access?.groupNames ?? []))
    }

    /// What the server manages on one member of the fleet.
    public func state(for member: FleetSnapshot.Member, in snapshot: FleetSnapshot) -> ManagedState {
        let values = settings?.effective(for: member.groups) ?? [:]
        let firewall = self.firewall.flatMap { FirewallRenderer(config: $0, snapshot: snapshot).table(for: member.groups) }
        let keys = access?.files(for: member.groups) ?? [:]
        return ManagedState(settings: values.isEmpty ? nil : values, firewall: firewall, authorizedKeys: keys.isEmpty ? nil : keys)
    }
}

/// The files as applied, and who applied them when.
public struct AppliedManagedConfig: Sendable, Equatable {
    public var files: ManagedConfigFiles
    public var appliedBy: String
    public var appliedAt: Date

    public init(files: ManagedConfigFiles, appliedBy: String, appliedAt: Date) {
        self.files = files
        self.appliedBy = appliedBy
        self.appliedAt = appliedAt
    }
}
