import Foundation
import HummingbirdTesting
import RookeryCore
import Testing

@testable import RookeryServer

/// What the server manages on devices (issue 20): server/client-settings.yml, firewall.yml and
/// access.yml rendered per device from its groups and the addresses other devices report, planned,
/// applied, re-rendered when the fleet changes, and carried by the signed `update` answer.
@Suite struct ManagedStateTests {
    let sandbox: Sandbox
    let context: ServerContext
    let db: TestDevice, app: TestDevice, laptop: TestDevice
    let groups: GroupAdmin
    let admin: ManagedStateAdmin

    static let who = AdminOperator(user: "rookery", sudoUser: "erin")
    static let aliceKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBRtEcPf1WE2zXfOxQhMk4vB0CdBR1WU0d6KHUbQZgkp alice@laptop"
    static let bobKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOHFJfzLzlbnJ3JtqZ6X0WX2dC3QbbYwL0JvJb1vk1Lj bob@desk"

    init() async throws {
        sandbox = try Sandbox()
        context = try await makeServerContext(sandbox)
        db = try TestDevice(sandbox, name: "db1")
        app = try TestDevice(sandbox, name: "app1")
        laptop = try TestDevice(sandbox, name: "laptop1")
        groups = GroupAdmin(store: context.store)
        admin = ManagedStateAdmin(store: context.store, root: context.root)
    }

    func write(_ text: String, _ path: String) throws {
        try FileManager.default.createDirectory(atPath: context.root.path + "/server", withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: context.root.resolve(path)))
    }

    static func network(_ addresses: [String]) -> [String: JSONValue] {
        let (ipv6, ipv4) = (addresses.filter { $0.contains(":") }, addresses.filter { !$0.contains(":") })
        return [
            "network": .object([
                "interfaces": .array([
                    .object([
                        "name": .string("eth0"), "ipv4": .array(ipv4.map(JSONValue.string)), "ipv6": .array(ipv6.map(JSONValue.string))
                    ])
                ])
            ])
        ]
    }

    /// Every device reports; app1 from `appAddresses`.
    func report(appAddresses: [String]) async throws {
        try await withServer(context, accepting: [db, app, laptop], over: .router) { [db, app, laptop] client in
            for (device, plugins) in [(db, Self.network(["192.0.2.10/24"])), (app, Self.network(appAddresses)), (laptop, [:])] {
                let status = try await post(client, try device.sign(.submit, TestDevice.submitFields(plugins: plugins))).status
                #expect(status == .ok)
            }
        }
    }

    func makeGroups() async throws {
        for name in ["db", "app", "staging"] { _ = try await groups.create(name, condition: nil, by: Self.who) }
        _ = try await groups.create("linux", condition: "plugins.network.interfaces =~ .", by: Self.who)
        _ = try await groups.add(["db1"], to: "db", by: Self.who)
        _ = try await groups.add(["app1"], to: "app", by: Self.who)
        _ = try await groups.add(["app1", "db1"], to: "staging", by: Self.who)
    }

    static let settings = """
        defaults:
          collect_interval: 600
        groups:
          db:
            collect_interval: 300
            disabled_plugins: [screenlock, guest_session]
          staging:
            collect_interval: 900
        """
    static let firewall = """
        groups:
          db: {input: drop}
        rules:
          - {group: db, allow: {tcp: [5432]}, from_group: app}
          - {group: db, allow: {tcp: [22]}}
        """
    static let access = """
        people:
          alice: {keys: ["\(aliceKey)"]}
          bob: {keys: ["\(bobKey)"]}
        teams:
          devs: [alice, bob]
        grants:
          - {people: devs, account: deploy, devices: {group: staging}}
          - {people: alice, account: root, devices: {group: db}}
        """

    func state(_ device: TestDevice) async throws -> ManagedState? {
        try await context.store.managedState(fingerprint: device.fingerprint).map(ManagedStateText.decode)
    }

    @Test func settingsFirewallAndKeysAreRenderedPerDeviceFromItsGroups() async throws {
        try await report(appAddresses: ["198.51.100.7/24", "fe80::1/64"])
        try await makeGroups()
        try write(Self.settings, ManagedConfigFiles.settingsPath)
        try write(Self.firewall, ManagedConfigFiles.firewallPath)
        try write(Self.access, ManagedConfigFiles.accessPath)

        let plan = try await admin.plan()
        #expect(plan.map(\.device.hostname) == ["app1", "db1", "laptop1"] && plan.allSatisfy(\.changes))
        #expect(try await context.store.managedConfig() == nil, "a plan sends nothing")
        #expect(try await admin.apply(by: Self.who) == 3)
        #expect(try await context.store.managedConfig()?.appliedBy == "erin (as rookery)")

        // Later groups in the file win: db1 is in db and staging.
        let dbState = try #require(try await state(db))
        #expect(dbState.settings == ["collect_interval": "900", "disabled_plugins": "screenlock guest_session"])
        #expect(try await state(laptop)?.settings == ["collect_interval": "600"])
        // db1's table: drop by default, 5432 from app1's global address only, 22 from anywhere.
        let table = try #require(dbState.firewall)
        #expect(table.contains("policy drop;"))
        #expect(table.contains("ip saddr { 198.51.100.7 } tcp dport { 5432 } accept"))
        #expect(!table.contains("fe80"))
        #expect(table.contains("\t\ttcp dport { 22 } accept"))
        #expect(try await state(app)?.firewall == nil)
        #expect(try await state(laptop)?.firewall == nil)
        // Keys: deploy on staging for the team, root on db for alice alone; none on the laptop.
        #expect(dbState.authorizedKeys?["deploy"] == Self.aliceKey + "\n" + Self.bobKey + "\n")
        #expect(dbState.authorizedKeys?["root"] == Self.aliceKey + "\n")
        #expect(try await state(app)?.authorizedKeys?.keys.sorted() == ["deploy"])
        #expect(try await state(laptop)?.authorizedKeys == nil)
        #expect(try await admin.plan().allSatisfy { !$0.changes })
        // A group the applied files name cannot be deleted from under them.
        let inUse = await #expect(throws: AdminError.self) { try await groups.delete("staging", by: Self.who) }
        #expect(inUse?.kind == .conflict)
    }

    @Test func aMembersNewAddressChangesTheRulesWithoutAnApply() async throws {
        try await report(appAddresses: ["198.51.100.7/24"])
        try await makeGroups()
        try write(Self.firewall, ManagedConfigFiles.firewallPath)
        _ = try await admin.apply(by: Self.who)
        let before = try #require(try await state(db))

        try await report(appAddresses: ["198.51.100.9/24", "2001:db8::9/64"])
        #expect(try await ManagedStateRenderer(store: context.store).refresh() == 1)
        let after = try #require(try await state(db)?.firewall)
        #expect(after.contains("ip saddr { 198.51.100.9 } tcp dport { 5432 } accept"))
        #expect(after.contains("ip6 saddr { 2001:db8::9 } tcp dport { 5432 } accept"))
        #expect(!after.contains("198.51.100.7") && before.firewall != after)
        // Editing the file on disk changes nothing until it is applied.
        try write("rules: []\n", ManagedConfigFiles.firewallPath)
        #expect(try await ManagedStateRenderer(store: context.store).refresh() == 0)
        #expect(try await state(db)?.firewall == after)
    }

    @Test func anAddressThatIsNotOneNeverReachesARule() async throws {
        try await report(appAddresses: [
            "198.51.100.7; flush ruleset", "198.51.100.8 }", "127.0.0.1/8", "::1/128", "999.1.1.1", "224.0.0.5/4",
            "255.255.255.255/32", "169.254.1.1/16", "fe80::1/64", "ff02::1/128"
        ])
        try await makeGroups()
        try write(Self.firewall, ManagedConfigFiles.firewallPath)
        _ = try await admin.apply(by: Self.who)
        let table = try #require(try await state(db)?.firewall)
        #expect(!table.contains("flush") && !table.contains("198.51.100") && !table.contains("127.0.0.1"))
        #expect(table.contains("# no member of group app reports an address yet"))
    }

    @Test func aMemberReportingManyAddressesGivesAtMostSixteen() async throws {
        try await report(appAddresses: (1...200).map { "198.51.100.\($0)/24" })
        try await makeGroups()
        try write(Self.firewall, ManagedConfigFiles.firewallPath)
        _ = try await admin.apply(by: Self.who)
        let rule = try #require(try await state(db)?.firewall?.split(separator: "\n").first { $0.contains("5432 } accept") })
        #expect(rule.components(separatedBy: "198.51.100.").count - 1 == FleetSnapshot.maxAddresses)
    }

    @Test func theUpdateAnswerCarriesTheStateUntilTheDeviceHasIt() async throws {
        try await report(appAddresses: ["198.51.100.7/24"])
        try await makeGroups()
        try write(Self.settings, ManagedConfigFiles.settingsPath)
        try await withServer(context, accepting: [db], over: .router) { [db] client in
            var answer = try await Self.update(client, db, sha: nil)
            #expect(answer.managed == nil, "nothing applied yet")
            _ = try await ManagedStateAdmin(store: context.store, root: context.root).apply(by: Self.who)
            answer = try await Self.update(client, db, sha: nil)
            let managed = try #require(answer.managed)
            #expect(managed.isIntact && managed.settings?["collect_interval"] == "900")
            #expect(try await Self.update(client, db, sha: managed.sha256).managed == nil)
            #expect(try await Self.update(client, db, sha: String(repeating: "0", count: 64)).managed == managed)
            let bad = try await post(client, try db.sign(.update, ["release": .integer(0), "managed_sha256": .string("XYZ")]))
            #expect(bad.status == .badRequest)
        }
    }

    static func update(_ client: some TestClientProtocol, _ device: TestDevice, sha: String?) async throws -> UpdateAnswer {
        var fields: [String: JSONValue] = ["release": .integer(0)]
        if let sha { fields["managed_sha256"] = .string(sha) }
        let response = try await post(client, try device.sign(.update, fields))
        #expect(response.status == .ok)
        return try JSONDecoder().decode(UpdateAnswer.self, from: Data(buffer: response.body))
    }

    @Test func aPersonRemovedLosesAccessEverywhereAtTheNextApply() async throws {
        try await report(appAddresses: ["198.51.100.7/24"])
        try await makeGroups()
        try write(Self.access, ManagedConfigFiles.accessPath)
        _ = try await admin.apply(by: Self.who)
        #expect(try await state(app)?.authorizedKeys?["deploy"]?.contains("bob@desk") == true)
        try write(
            Self.access.replacingOccurrences(of: "  bob: {keys: [\"\(Self.bobKey)\"]}\n", with: "")
                .replacingOccurrences(of: "[alice, bob]", with: "[alice]"), ManagedConfigFiles.accessPath)
        let plan = try await admin.plan()
        let appPlan = try #require(plan.first { $0.device.hostname == "app1" })
        #expect(appPlan.diff.authorizedKeys["deploy"]?.removed == [Self.bobKey])
        _ = try await admin.apply(by: Self.who)
        for device in [db, app] { #expect(try await state(device)?.authorizedKeys?.values.contains { $0.contains("bob@desk") } == false) }
    }

    @Test func filesThatCannotBeUsedAreRefusedWithTheLineAndNothingIsApplied() async throws {
        try await report(appAddresses: [])
        try await makeGroups()
        for (path, text, says) in [
            (ManagedConfigFiles.settingsPath, "defaults:\n  collect_interval: 5\n", "collect_interval must be a whole number from 60"),
            (ManagedConfigFiles.settingsPath, "defaults:\n  collect_interval: 0900\n", "collect_interval must be a whole number from 60"),
            (
                ManagedConfigFiles.firewallPath, "rules:\n  - {group: db, allow: {tcp: [5432]}, from_group: linux}\n",
                "from_group linux is a dynamic group"
            ),
            (ManagedConfigFiles.settingsPath, "defaults:\n  server_url: http://evil\n", "server_url cannot be set for a fleet"),
            (ManagedConfigFiles.settingsPath, "groups:\n  nosuch: {collect_interval: 600}\n", "group nosuch, which does not exist"),
            (ManagedConfigFiles.firewallPath, "rules:\n  - {group: db, allow: {tcp: [70000]}}\n", "port is a whole number"),
            (ManagedConfigFiles.firewallPath, "rules:\n  - {group: db, allow: {sctp: [1]}}\n", "unknown key sctp"),
            (ManagedConfigFiles.accessPath, "people:\n  eve: {keys: ['command=\"sh\" \(Self.aliceKey)']}\n", "options are not allowed"),
            (ManagedConfigFiles.accessPath, "teams:\n  devs: [nobody]\n", "nobody, who is not under people"),
            (
                ManagedConfigFiles.accessPath, "people:\n  a: {keys: [\"\(Self.aliceKey)\"]}\ngrants:\n  - {people: a, account: Root, devices: {group: db}}\n",
                "not an account name"
            )
        ] {
            for other in [ManagedConfigFiles.settingsPath, ManagedConfigFiles.firewallPath, ManagedConfigFiles.accessPath] {
                try? FileManager.default.removeItem(atPath: context.root.resolve(other))
            }
            try write(text, path)
            let error = await #expect(throws: SettingsError.self, "\(text)") { try await admin.apply(by: Self.who) }
            #expect(error?.description.contains(says) == true, "\(error?.description ?? "")")
            #expect(error?.description.contains(path) == true)
        }
        #expect(try await context.store.managedConfig() == nil)
        #expect(try await context.store.managedStateDigests().isEmpty)
    }
}
