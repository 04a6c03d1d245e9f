import Foundation
import HummingbirdTesting
import RookeryCore
import Testing

@testable import RookeryServer

/// `bin/groups`, `--group` targeting and checks for some groups only, through real submissions
/// and real audits on both stores.
@Suite struct DeviceGroupTests {
    let sandbox: Sandbox
    let context: ServerContext
    let alice: TestDevice, bob: TestDevice, carol: TestDevice
    let admin: GroupAdmin

    static let who = AdminOperator(user: "rookery", sudoUser: "dana")

    init() async throws {
        sandbox = try Sandbox()
        context = try await makeServerContext(sandbox)
        alice = try TestDevice(sandbox, name: "alice")
        bob = try TestDevice(sandbox, name: "bob")
        carol = try TestDevice(sandbox, name: "carol")
        admin = GroupAdmin(store: context.store)
    }

    /// Each device's plugins as it reports them.
    func report(_ plugins: KeyValuePairs<TestDevice, [String: JSONValue]>) async throws {
        try await withServer(context, accepting: [alice, bob, carol], over: .router) { client in
            for (device, values) in plugins {
                let status = try await post(client, try device.sign(.submit, TestDevice.submitFields(plugins: values))).status
                #expect(status == .ok)
            }
        }
    }

    func enrollAll() async throws { try await withServer(context, accepting: [alice, bob, carol], over: .router) { _ in } }

    func names(_ devices: [Device]) -> [String] { devices.map(\.hostname) }

    @Test func aStaticGroupTakesAndLosesMembersAndRecordsWhoDidIt() async throws {
        try await enrollAll()
        let created = try await admin.create("db", description: "database servers", condition: nil, by: Self.who)
        #expect(created.createdBy == "dana (as rookery)" && !created.isDynamic)
        var (added, already) = try await admin.add(["alice", "bob"], to: "db", by: Self.who)
        #expect(names(added) == ["alice", "bob"] && already.isEmpty)
        (added, already) = try await admin.add(["alice"], to: "db", by: Self.who)
        #expect(added.isEmpty && names(already) == ["alice"])
        // All or nothing: one unknown host and nobody is added.
        await #expect(throws: AdminError.self) { try await admin.add(["carol", "nobody"], to: "db", by: Self.who) }
        #expect(try await names(admin.show("db").members) == ["alice", "bob"])

        #expect(try await names(admin.remove(["bob", "carol"], from: "db", by: Self.who)) == ["bob"])
        let (group, members, changes) = try await admin.show("db")
        #expect(group.description == "database servers" && names(members) == ["alice"])
        #expect(changes.map(\.action) == [.removed, .added, .created])
        #expect(changes.allSatisfy { $0.by == "dana (as rookery)" })
        #expect(changes[0].detail.contains("bob") && !changes[0].detail.contains("carol"))
        #expect(try await admin.list().map { "\($0.group.name):\($0.members.count)" } == ["db:1"])

        try await admin.delete("db", by: Self.who)
        await #expect(throws: AdminError.self) { try await admin.show("db") }
        await #expect(throws: AdminError.self) { try await admin.delete("db", by: Self.who) }
        #expect(try await admin.changes(group: "db", limit: 10).first?.action == .deleted)
        #expect(try await context.store.groupMembers(group: nil).isEmpty)
    }

    @Test func namesDuplicatesAndDynamicGroupsAreRefusedWhereTheyMustBe() async throws {
        try await enrollAll()
        for bad in ["", "DB", "-db", "db servers", "db/x", String(repeating: "a", count: 64)] {
            await #expect(throws: AdminError.self, "\(bad)") { try await admin.create(bad, condition: nil, by: Self.who) }
        }
        _ = try await admin.create("db", condition: nil, by: Self.who)
        let duplicate = await #expect(throws: AdminError.self) { try await admin.create("db", condition: nil, by: Self.who) }
        #expect(duplicate?.kind == .conflict)
        _ = try await admin.create("debian", condition: "plugins.os_info.id == debian", by: Self.who)
        let dynamic = await #expect(throws: AdminError.self) { try await admin.add(["alice"], to: "debian", by: Self.who) }
        #expect(dynamic?.kind == .conflict)
        await #expect(throws: AdminError.self) { try await admin.create("x", description: "a\nb", condition: nil, by: Self.who) }
        #expect(try await admin.list().map(\.group.name) == ["db", "debian"])
    }

    @Test func aDynamicGroupFollowsWhatDevicesReport() async throws {
        try await report([
            alice: ["os_info": .object(["id": .string("debian"), "version": .integer(12)])],
            bob: ["os_info": .object(["id": .string("ubuntu"), "version": .integer(24)])],
            carol: ["os_info": .string("unknown")]
        ])
        _ = try await admin.create("debian", condition: "plugins.os_info.id == debian", by: Self.who)
        _ = try await admin.create("new", condition: "plugins.os_info.version > 20", by: Self.who)
        _ = try await admin.create(
            "apt", condition: "{any: [{path: plugins.os_info.id, equals: debian}, {path: plugins.os_info.id, equals: ubuntu}]}",
            by: Self.who)
        _ = try await admin.create("deb-12", condition: "plugins.os_info.id =~ ^deb and plugins.os_info.version == 12", by: Self.who)
        #expect(try await names(admin.show("debian").members) == ["alice"])
        #expect(try await names(admin.show("new").members) == ["bob"])
        #expect(try await names(admin.show("apt").members) == ["alice", "bob"])
        #expect(try await names(admin.show("deb-12").members) == ["alice"])

        try await report([bob: ["os_info": .object(["id": .string("debian"), "version": .integer(13)])]])
        #expect(try await names(admin.show("debian").members) == ["alice", "bob"])
        #expect(try await names(admin.show("new").members).isEmpty)
        #expect(try await names(admin.show("deb-12").members) == ["alice"])
    }

    @Test func aConditionThatCannotBeReadIsRefusedWithWhy() async throws {
        for bad in [
            "plugins.os_info.id", "plugins.os_info.id ==", "plugins..id == x", "plugins.x < many", "plugins.x =~ (",
            "{path: plugins.x, frobnicates: 1}", "{path: plugins.x", "a == 1\nb == 2", String(repeating: "a", count: 2001)
        ] {
            let error = await #expect(throws: AdminError.self, "\(bad)") { try await admin.create("g", condition: bad, by: Self.who) }
            #expect(error?.kind == .input)
        }
        #expect(try await context.store.groups().isEmpty)
    }

    @Test func targetsJoinHostsAndGroupsAndLeaveOutRevokedMembers() async throws {
        try await enrollAll()
        _ = try await admin.create("db", condition: nil, by: Self.who)
        _ = try await admin.create("empty", condition: nil, by: Self.who)
        _ = try await admin.add(["alice", "bob"], to: "db", by: Self.who)
        #expect(try await names(admin.targets(hosts: ["carol", "alice"], groups: ["db"])) == ["carol", "alice", "bob"])
        try await context.store.setState(.revoked, fingerprint: bob.fingerprint, at: Date())
        #expect(try await names(admin.targets(hosts: [], groups: ["db"])) == ["alice"])
        let unknown = await #expect(throws: AdminError.self) { try await admin.targets(hosts: ["alice"], groups: ["nosuch"]) }
        #expect(unknown?.kind == .notFound)
        let empty = await #expect(throws: AdminError.self) { try await admin.targets(hosts: [], groups: ["empty"]) }
        #expect(empty?.kind == .notFound)

        // Patches queue for the group's reachable members only.
        let patches = PatchAdmin(store: context.store)
        let queued = try await patches.command(
            hosts: try await admin.targets(hosts: [], groups: ["db"]).map(\.fingerprint), name: "hello",
            script: Data("#!/bin/sh\necho hi\n".utf8))
        #expect(queued.map(\.0.hostname) == ["alice"])
        #expect(try await context.store.patches(fingerprint: bob.fingerprint, includeFinished: true).isEmpty)
    }

    @Test func aForgottenDeviceLeavesItsGroups() async throws {
        try await enrollAll()
        _ = try await admin.create("db", condition: nil, by: Self.who)
        _ = try await admin.add(["alice", "bob"], to: "db", by: Self.who)
        _ = try await DeviceAdmin(store: context.store).forget("alice")
        #expect(try await context.store.groupMembers(group: "db").map(\.fingerprint) == [bob.fingerprint])
    }

    static let scopedChecks = """
        checks:
          - name: sshd-passwords
            description: sshd accepts passwords
            condition:
              path: plugins.sshd.password_authentication
              equals: true
            groups: [servers]
          - name: no-firewall
            description: no firewall
            condition:
              path: plugins.firewall.active
              equals: false
        """

    @Test func aCheckForAGroupOpensIssuesOnItsMembersOnlyAndClosesThemOnLeaving() async throws {
        let failing: [String: JSONValue] = [
            "sshd": .object(["password_authentication": .bool(true)]), "firewall": .object(["active": .bool(false)])
        ]
        try await report([alice: failing, bob: failing])
        _ = try await admin.create("servers", condition: nil, by: Self.who)
        _ = try await admin.add(["alice"], to: "servers", by: Self.who)
        let audit = try Auditor(context: context, yaml: Self.scopedChecks)
        let t0 = Date()
        _ = try await audit.run(at: t0, cron: false)
        #expect(try await context.store.openIssues(fingerprint: alice.fingerprint).map(\.name).sorted() == ["no-firewall", "sshd-passwords"])
        #expect(try await context.store.openIssues(fingerprint: bob.fingerprint).map(\.name) == ["no-firewall"])
        // Compliance counts the check's group only; the fleet-wide check counts everyone.
        let day = ComplianceDay.day(of: t0)
        #expect(try await context.store.complianceTrend(check: "sshd-passwords", since: day).last.map { [$0.passed, $0.failed] } == [0, 1])
        #expect(try await context.store.complianceTrend(check: "no-firewall", since: day).last.map { [$0.passed, $0.failed] } == [0, 2])

        // Alice leaves the group and Bob joins: her issue closes as not-in-group, his opens.
        _ = try await admin.remove(["alice"], from: "servers", by: Self.who)
        _ = try await admin.add(["bob"], to: "servers", by: Self.who)
        _ = try await audit.run(at: t0.addingTimeInterval(60), cron: false)
        #expect(try await context.store.openIssues(fingerprint: alice.fingerprint).map(\.name) == ["no-firewall"])
        let closed = try await context.store.issueHistory(fingerprint: alice.fingerprint, limit: 10).first { $0.name == "sshd-passwords" }
        #expect(closed?.closeReason == .notInGroup)
        #expect(try await context.store.openIssues(fingerprint: bob.fingerprint).map(\.name).sorted() == ["no-firewall", "sshd-passwords"])

        // The dry run of the check sees its group only.
        let dry = try await IssueAdmin(store: context.store, catalog: audit.catalog).dryRun(audit.catalog.check(named: "sshd-passwords")!)
        #expect(dry.map(\.device.hostname) == ["bob"])
        // And the group cannot be deleted while the check uses it.
        let inUse = await #expect(throws: AdminError.self) {
            try await GroupAdmin(store: context.store, catalog: audit.catalog).delete("servers", by: Self.who)
        }
        #expect(inUse?.kind == .conflict)
    }

    @Test func aCheckForADynamicGroupFollowsTheDocument() async throws {
        func failing(_ os: String) -> [String: JSONValue] {
            ["sshd": .object(["password_authentication": .bool(true)]), "os_info": .object(["id": .string(os)])]
        }
        try await report([alice: failing("debian"), bob: failing("fedora")])
        _ = try await admin.create("servers", condition: "plugins.os_info.id == debian", by: Self.who)
        let audit = try Auditor(context: context, yaml: Self.scopedChecks)
        _ = try await audit.run(at: Date(), cron: false)
        #expect(try await context.store.openIssues(fingerprint: alice.fingerprint).map(\.name) == ["sshd-passwords"])
        #expect(try await context.store.openIssues(fingerprint: bob.fingerprint).isEmpty)
        // A run where the condition cannot tell (os_info said "unknown") leaves her issue open.
        try await report([alice: ["sshd": .object(["password_authentication": .bool(true)]), "os_info": .string("unknown")]])
        _ = try await audit.run(at: Date().addingTimeInterval(60), cron: false)
        #expect(try await context.store.openIssues(fingerprint: alice.fingerprint).map(\.name) == ["sshd-passwords"])
        // She is no longer Debian: the issue closes as not-in-group.
        try await report([alice: failing("fedora")])
        _ = try await audit.run(at: Date().addingTimeInterval(120), cron: false)
        #expect(try await context.store.openIssues(fingerprint: alice.fingerprint).isEmpty)
        #expect(try await context.store.issueHistory(fingerprint: alice.fingerprint, limit: 5).first?.closeReason == .notInGroup)
    }

    @Test func anAuditOfACheckForAGroupThatDoesNotExistStopsBeforeChangingAnything() async throws {
        try await report([alice: ["firewall": .object(["active": .bool(false)])]])
        let audit = try Auditor(context: context, yaml: Self.scopedChecks)
        let error = await #expect(throws: SettingsError.self) { try await audit.run(at: Date(), cron: false) }
        #expect(error?.description.contains("group servers, which does not exist") == true)
        #expect(try await context.store.openIssues(fingerprint: nil).isEmpty)
    }

    @Test func snoozesAndSuspensionsTakeAGroup() async throws {
        let failing: [String: JSONValue] = ["firewall": .object(["active": .bool(false)])]
        try await report([alice: failing, bob: failing, carol: failing])
        _ = try await admin.create("laptops", condition: nil, by: Self.who)
        _ = try await admin.add(["alice", "bob"], to: "laptops", by: Self.who)
        let audit = try Auditor(
            context: context,
            yaml: AuditLifecycleTests.checks + "\n" + """
                  - name: no-firewall
                    description: no firewall
                    condition:
                      path: plugins.firewall.active
                      equals: false
                """)
        _ = try await audit.run(at: Date(), cron: false)
        let issues = IssueAdmin(store: context.store, catalog: audit.catalog)
        #expect(try await issues.snooze(until: Date().addingTimeInterval(3600), host: nil, group: "laptops", name: nil, all: false) == 2)
        let snoozed = try await context.store.openIssues(fingerprint: nil).filter { $0.snoozedUntil != nil }.map(\.fingerprint)
        #expect(Set(snoozed) == [alice.fingerprint, bob.fingerprint])
        #expect(try await names(issues.suspend([], groups: ["laptops"])) == ["alice", "bob"])
        #expect(try await context.store.device(fingerprint: carol.fingerprint)?.isSuspended == false)
    }

    @Test func aReleaseForAGroupIsOfferedAndServedToItsMembersOnly() async throws {
        try await report([bob: ["os_info": .object(["id": .string("debian")])], alice: [:], carol: [:]])
        _ = try await admin.create("canary", condition: nil, by: Self.who)
        _ = try await admin.add(["alice"], to: "canary", by: Self.who)
        _ = try await admin.create("deb", condition: "plugins.os_info.id == debian", by: Self.who)
        let everyone = try await context.releases.publish { _ in (Data("one".utf8), 1) }
        let canary = try await context.releases.publish(groups: ["canary"]) { _ in (Data("two".utf8), 1) }
        let debian = try await context.releases.publish(groups: ["deb"]) { _ in (Data("three".utf8), 1) }
        try await withServer(context, accepting: [alice, bob, carol], over: .router) { [alice, bob, carol] client in
            func offered(_ device: TestDevice, running: Int = 0) async throws -> Int? {
                let response = try await post(client, try device.sign(.update, ["release": .integer(Int64(running))]))
                return try JSONDecoder().decode(UpdateAnswer.self, from: Data(buffer: response.body)).release?.number
            }
            #expect(try await offered(alice) == canary.number)
            #expect(try await offered(bob) == debian.number)
            #expect(try await offered(carol) == everyone.number)
            #expect(try await offered(carol, running: everyone.number) == nil)
            let refused = try await post(client, try carol.sign(.release, ["release": .integer(Int64(canary.number))]))
            #expect(refused.status == .notFound)
            let served = try await post(client, try alice.sign(.release, ["release": .integer(Int64(canary.number))]))
            #expect(served.status == .ok)
        }
        #expect(try context.releases.list().map(\.groups) == [nil, ["canary"], ["deb"]])
        // New devices, the agent's poll and the dashboard go by the newest release for everyone.
        #expect(try context.releases.latest()?.number == everyone.number)
    }

    @Test func issuesYAMLTakesGroupsOnDeviceChecksOnly() throws {
        #expect(try CheckCatalog.parse(Self.scopedChecks, source: "t").check(named: "sshd-passwords")?.groups == ["servers"])
        for bad in ["groups: []", "groups: [Servers]", "groups: servers"] {
            let yaml = "checks:\n  - name: a\n    condition: {path: x, equals: 1}\n    \(bad)\n"
            #expect(throws: SettingsError.self, "\(bad)") { try CheckCatalog.parse(yaml, source: "t") }
        }
        let server = "checks:\n  - name: cert\n    computed: expiring-certificate\n    groups: [servers]\n"
        #expect(throws: SettingsError.self) { try CheckCatalog.parse(server, source: "t") }
    }
}
