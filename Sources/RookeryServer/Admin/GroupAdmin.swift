import Foundation
import RookeryCore

/// What `bin/groups` does, and how every command that targets devices turns `--group` into
/// devices. Each change is recorded with who made it.
public struct GroupAdmin: Sendable {
    let store: any Store
    let devices: DeviceAdmin
    /// The checks of issues.yml, when known: a group a check applies to cannot be deleted.
    let catalog: CheckCatalog?

    public init(store: any Store, catalog: CheckCatalog? = nil) {
        self.store = store
        devices = DeviceAdmin(store: store)
        self.catalog = catalog
    }

    public func create(
        _ name: String, description: String = "", condition: String?, by who: AdminOperator, now: Date = Date()
    ) async throws -> DeviceGroup {
        guard DeviceGroup.isValidName(name) else {
            throw AdminError.input("group name \(name): use 1-63 lower-case letters, digits, - and _, starting with a letter or digit")
        }
        let description = description.trimmingCharacters(in: .whitespacesAndNewlines)
        guard description.utf8.count <= DeviceGroup.maxDescriptionBytes,
            !description.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw AdminError.input("--description must be one line of at most \(DeviceGroup.maxDescriptionBytes) bytes")
        }
        let condition = condition?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let condition {
            do {
                _ = try GroupCondition.parse(condition)
            } catch {
                throw AdminError.input("--condition: \(error)", hint: "see docs/groups.md for the condition language")
            }
        }
        let group = DeviceGroup(name: name, description: description, condition: condition, createdBy: who.name, createdAt: now)
        guard try await store.createGroup(group) else { throw AdminError.conflict("a group named \(name) exists already") }
        return group
    }

    /// Deletes a group, unless a check of issues.yml applies to it (the check would apply to no
    /// device, closing its issues everywhere, and the audit refuses a check naming no group), or
    /// the applied managed state names it.
    public func delete(_ name: String, by who: AdminOperator, now: Date = Date()) async throws {
        if let check = catalog?.checks.first(where: { $0.groups?.contains(name) ?? false }) {
            throw AdminError.conflict(
                "check \(check.name) in issues.yml applies to group \(name); change the check first, then delete the group")
        }
        // The applied managed state would no longer render (ManagedConfig.checkGroups).
        if let applied = try await store.managedConfig(), (try? ManagedConfig(applied.files))?.groupNames.contains(name) == true {
            throw AdminError.conflict(
                "the applied managed state (server/client-settings.yml, firewall.yml or access.yml) names group \(name); "
                    + "remove it from the files and run bin/groups apply first")
        }
        let change = GroupChange(at: now, by: who.name, group: name, action: .deleted, detail: "")
        guard try await store.deleteGroup(named: name, change: change) else { throw Self.noGroup(name) }
    }

    /// Adds the hosts to a static group; returns those added and those already in it.
    public func add(_ hosts: [String], to name: String, by who: AdminOperator, now: Date = Date()) async throws -> (
        added: [Device], already: [Device]
    ) {
        let group = try await staticGroup(name)
        let chosen = try await resolveAll(hosts)
        let before = Set(try await store.groupMembers(group: group.name).map(\.fingerprint))
        let added = chosen.filter { !before.contains($0.fingerprint) }
        let change = GroupChange(at: now, by: who.name, group: name, action: .added, detail: Self.names(added))
        _ = try await store.addMembers(added.map(\.fingerprint), change: change)
        return (added, chosen.filter { before.contains($0.fingerprint) })
    }

    /// Removes the hosts from a static group; returns those that were in it.
    public func remove(_ hosts: [String], from name: String, by who: AdminOperator, now: Date = Date()) async throws -> [Device] {
        let group = try await staticGroup(name)
        let chosen = try await resolveAll(hosts)
        let before = Set(try await store.groupMembers(group: group.name).map(\.fingerprint))
        let removed = chosen.filter { before.contains($0.fingerprint) }
        let change = GroupChange(at: now, by: who.name, group: name, action: .removed, detail: Self.names(removed))
        _ = try await store.removeMembers(removed.map(\.fingerprint), change: change)
        return removed
    }

    /// Every group with its members, by name.
    public func list() async throws -> [(group: DeviceGroup, members: [Device])] {
        let membership = try await GroupMembership.load(from: store)
        let members = try await self.members(membership.groups.map(\.name), in: membership)
        return membership.groups.map { ($0, members[$0.name] ?? []) }
    }

    /// One group: what it is, its members, and its newest changes.
    public func show(_ name: String, changes limit: Int = 20) async throws -> (
        group: DeviceGroup, members: [Device], changes: [GroupChange]
    ) {
        let membership = try await GroupMembership.load(from: store)
        guard let group = membership.groups.first(where: { $0.name == name }) else { throw Self.noGroup(name) }
        let members = try await self.members([name], in: membership)[name] ?? []
        return (group, members, try await store.groupChanges(group: name, limit: limit))
    }

    /// The newest changes to every group (or one), newest first.
    public func changes(group: String?, limit: Int) async throws -> [GroupChange] {
        try await store.groupChanges(group: group, limit: limit)
    }

    /// The devices a command targets with `--host` and `--group`: each host as named, then each
    /// group's members that can still be reached (accepted or pending: a revoked member is left
    /// out rather than refused). Every name is checked first; none chosen at all is an error.
    public func targets(hosts: [String], groups: [String]) async throws -> [Device] {
        var chosen = try await resolve(hosts)
        guard !groups.isEmpty else { return chosen }
        let membership = try await GroupMembership.load(from: store)
        for name in groups where !membership.exists(name) { throw Self.noGroup(name) }
        let members = try await self.members(groups, in: membership)
        for name in groups {
            for device in members[name] ?? [] where device.state == .accepted || device.state == .pending {
                if !chosen.contains(where: { $0.fingerprint == device.fingerprint }) { chosen.append(device) }
            }
        }
        guard !chosen.isEmpty else {
            throw AdminError.notFound(
                "group\(groups.count == 1 ? "" : "s") \(groups.joined(separator: ", ")) \(groups.count == 1 ? "has" : "have") no reachable members; nothing was done",
                hint: "bin/groups show NAME lists a group's members")
        }
        return chosen
    }

    /// The members of each named group, by hostname: static ones as kept (in any state), dynamic
    /// ones from one walk over every accepted device's document.
    func members(_ names: [String], in membership: GroupMembership) async throws -> [String: [Device]] {
        let wanted = membership.groups.filter { names.contains($0.name) }
        var found: [String: [Device]] = [:]
        let staticNames = Set(wanted.filter { !$0.isDynamic }.map(\.name))
        if !staticNames.isEmpty {
            let byFingerprint = Dictionary(uniqueKeysWithValues: try await store.devices(in: nil).map { ($0.fingerprint, $0) })
            for member in try await store.groupMembers(group: nil) where staticNames.contains(member.group) {
                if let device = byFingerprint[member.fingerprint] { found[member.group, default: []].append(device) }
            }
        }
        let dynamic = wanted.filter(\.isDynamic).map(\.name)
        if !dynamic.isEmpty {
            let paths = Array(Set(membership.paths)).sorted { $0.description < $1.description }
            try await store.forEachAuditSubject(paths: paths) { subject in
                for name in dynamic where membership.contains(subject, in: name) { found[name, default: []].append(subject.device) }
            }
        }
        return found.mapValues { $0.sorted { ($0.hostname, $0.fingerprint) < ($1.hostname, $1.fingerprint) } }
    }

    private func staticGroup(_ name: String) async throws -> DeviceGroup {
        guard let group = try await store.groups().first(where: { $0.name == name }) else { throw Self.noGroup(name) }
        guard !group.isDynamic else {
            throw AdminError.conflict("group \(name) is dynamic: its members are the devices matching \(group.condition!); it takes no hosts")
        }
        return group
    }

    /// Each host once, in the order named.
    private func resolve(_ hosts: [String]) async throws -> [Device] {
        var chosen: [Device] = []
        for host in hosts {
            let device = try await devices.resolve(host)
            if !chosen.contains(where: { $0.fingerprint == device.fingerprint }) { chosen.append(device) }
        }
        return chosen
    }

    /// Every host resolved before anything changes; the error says nothing was.
    private func resolveAll(_ hosts: [String]) async throws -> [Device] {
        do {
            return try await resolve(hosts)
        } catch let error as AdminError where hosts.count > 1 {
            throw AdminError(error.kind, "\(error.description); nothing was done, fix or leave out that host and run it again")
        }
    }

    static func noGroup(_ name: String) -> AdminError {
        AdminError.notFound("no group named \(name)", hint: "bin/groups list shows the groups")
    }

    private static func names(_ devices: [Device]) -> String {
        devices.map { "\($0.hostname) (\($0.fingerprint))" }.joined(separator: ", ")
    }
}
