import Foundation
import RookeryCore
import Testing

/// `bin/groups` and `--group` on the commands that target devices, with the real binary, a real
/// server and real clients.
@Suite struct GroupsEndToEndTests {
    @Test func groupsAreMadeFilledShownAndTargeted() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        try sandbox.write(counterSeenChecks("groups: [web]"), to: "srv/server/issues.yml")
        try server.start()
        for (name, collections) in [("g1", 2), ("g2", 1), ("g3", 1)] {
            let client = try server.acceptedClient(sandbox: sandbox, name: name, collections: collections)
            #expect(try client.run("submit").status == 0)
        }
        try sandbox.write("#!/bin/sh\necho '{}'\n", to: "extra.sh")

        #expect(try server.admin(["groups", "--help"]).status == 0)
        let created = try server.admin(["groups", "create", "web", "--description", "web servers"])
        #expect(created.status == 0 && created.stdout == "created static group web\n", "\(created.stdout)\(created.stderr)")
        #expect(try server.admin(["groups", "create", "web"]).status == 5)
        #expect(try server.admin(["groups", "create", "Web"]).status == 65)
        #expect(try server.admin(["groups", "add", "web", "g1", "nosuch"]).status == 4)
        let added = try server.admin(["groups", "add", "web", "g1", "g2"])
        #expect(added.status == 0 && added.stdout == "added g1 to web\nadded g2 to web\n", "\(added.stdout)\(added.stderr)")
        #expect(try server.admin(["groups", "add", "nosuch", "g1"]).status == 4)

        // A dynamic group: the counter plugin of g1, which collected twice, says 2.
        let dynamic = try server.admin(["groups", "create", "busy", "--condition", "plugins.counter.n > 1"])
        #expect(dynamic.status == 0, "\(dynamic.stderr)")
        #expect(try server.admin(["groups", "add", "busy", "g2"]).status == 5)
        let unreadable = try server.admin(["groups", "create", "odd", "--condition", "plugins.counter.n is big"])
        #expect(unreadable.status == 65 && unreadable.stderr.contains("PATH OP VALUE"), "\(unreadable.stderr)")

        let listed = try JSONValue.parse(Data(try server.admin(["groups", "list", "--json"]).stdout.utf8))
        guard case .array(let groups) = listed, groups.count == 2 else {
            Issue.record("groups list --json: \(listed)")
            return
        }
        #expect(groups.map { $0["name"] } == [.string("busy"), .string("web")])
        #expect(hostnames(groups[0]["members"]) == ["g1"] && hostnames(groups[1]["members"]) == ["g1", "g2"])

        // Patches and commands reach the group's members only.
        let patched = try server.admin([
            "patch-hosts", "add", "--group", "web", "--json", "client/plugins/extra.sh", sandbox.path + "/extra.sh"
        ])
        #expect(patched.status == 0, "\(patched.stderr)")
        #expect(hostnames(try JSONValue.parse(Data(patched.stdout.utf8)), key: "host") == ["g1", "g2"])
        let commanded = try server.admin(["client-command", "--group", "busy", "--host", "g3", "--name", "hi", "--command", "echo hi"])
        #expect(commanded.status == 0 && commanded.stdout == "queued command hi on g3\nqueued command hi on g1\n", "\(commanded.stdout)")
        #expect(try server.admin(["patch-hosts", "add", "--group", "nosuch", "client/x", sandbox.path + "/extra.sh"]).status == 4)
        let listedPatches = try JSONValue.parse(Data(try server.admin(["patch-hosts", "list", "--group", "web", "--json"]).stdout.utf8))
        #expect(Set(hostnames(listedPatches, key: "host")) == ["g1", "g2"])
        #expect(try server.count("SELECT count(*) FROM patches") == 4)

        // The check for group web opens issues on its members only.
        #expect(try server.admin(["issues", "audit"]).status == 0)
        #expect(try server.count("SELECT count(*) FROM issues WHERE closed_at IS NULL") == 2)
        let snoozed = try server.admin(["issues", "snooze", "--group", "web", "--hours", "2"])
        #expect(snoozed.status == 0 && snoozed.stdout.hasPrefix("snoozed 2 issues"), "\(snoozed.stdout)\(snoozed.stderr)")

        let shown = try server.admin(["groups", "show", "web"])
        #expect(shown.status == 0 && shown.stdout.contains("description: web servers"), "\(shown.stdout)")
        #expect(shown.stdout.contains("added") && shown.stdout.contains("g1 ("), "\(shown.stdout)")
        #expect(try server.admin(["groups", "delete", "web"]).status == 5, "issues.yml's check uses it")
        try sandbox.write(counterSeenChecks(), to: "srv/server/issues.yml")
        #expect(try server.admin(["groups", "remove", "web", "g3"]).status == 4)
        #expect(try server.admin(["groups", "remove", "web", "g2"]).status == 0)
        #expect(try server.admin(["groups", "delete", "web"]).status == 0)
        #expect(try server.admin(["groups", "show", "web"]).status == 4)
        let log = try JSONValue.parse(Data(try server.admin(["groups", "log", "--group", "web", "--json"]).stdout.utf8))
        guard case .array(let changes) = log else {
            Issue.record("groups log --json: \(log)")
            return
        }
        #expect(changes.map { $0["action"] } == ["deleted", "removed", "added", "created"].map(JSONValue.string))
        #expect(changes.allSatisfy { $0["by"]?.stringValue?.isEmpty == false })
    }

    private func hostnames(_ value: JSONValue?, key: String = "hostname") -> [String] {
        guard case .array(let items)? = value else { return [] }
        return items.compactMap { $0[key]?.stringValue }
    }
}
