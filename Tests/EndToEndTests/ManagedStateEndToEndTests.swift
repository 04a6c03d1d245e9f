import Foundation
import RookeryCore
import Testing

/// Groups, managed settings, firewall and SSH keys from the files on the server to real devices:
/// `bin/groups plan` and `apply`, the signed update answer, the device's fleet settings, its nft
/// (a recording stand-in; a real nft in a namespace is FirewallApplierTests') and its
/// authorized_keys in its sandbox root, what its next document reports, and the drift issue.
@Suite struct ManagedStateEndToEndTests {
    static let aliceKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBRtEcPf1WE2zXfOxQhMk4vB0CdBR1WU0d6KHUbQZgkp alice@laptop"

    /// A stand-in for nft: keeps what a load file declares after its `delete table` line as the
    /// "kernel's" table and lists it back; every load file is appended to its log.
    static func nftStandIn(_ directory: String) -> String {
        """
        #!/bin/sh
        dir='\(directory)'
        if [ "$1" = "-f" ]; then
            cat "$2" >> "$dir/log"
            sed '1,/^delete table inet rookery$/d' "$2" > "$dir/loaded"
            exit 0
        fi
        if [ "$2" = "list" ]; then
            if [ ! -s "$dir/loaded" ]; then echo "Error: No such file or directory" >&2; exit 1; fi
            cat "$dir/loaded"
            exit 0
        fi
        exit 2
        """
    }

    /// A network plugin that reports `address` on eth0, in place of the built-in one.
    static func networkPlugin(_ address: String) -> String {
        "#!/bin/sh\necho '{\"interfaces\": [{\"name\": \"eth0\", \"ipv4\": [\"\(address)/24\"], \"ipv6\": []}]}'\n"
    }

    @Test func whatTheFilesSayReachesTheDevicesAndTheirDocumentsSayWhatTheyRun() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        try sandbox.write(
            counterSeenChecks() + """
                  - name: managed-firewall-drift
                    description: The firewall table Rookery loaded was changed
                    condition:
                      path: managed.firewall_live.state
                      equals: drifted
                    grace: 0

                """, to: "srv/server/issues.yml")
        try server.start()
        try sandbox.write(Self.nftStandIn(sandbox.path + "/nft-db1"), to: "nft-db1/nft", mode: 0o755)
        let db1 = try server.acceptedClient(
            sandbox: sandbox, name: "db1", collections: 0, settings: "nft_path: \(sandbox.path)/nft-db1/nft\n")
        let app1 = try server.acceptedClient(sandbox: sandbox, name: "app1", collections: 0, settings: "manage_firewall: false\n")
        try sandbox.write(Self.networkPlugin("198.51.100.7"), to: "app1/client/plugins/network.sh", mode: 0o755)
        try sandbox.write("root:x:0:0:root:/root:/bin/sh\ndeploy:x:1001:1001::/home/deploy:/bin/sh\n", to: "db1/system/etc/passwd")
        try FileManager.default.createDirectory(atPath: db1.root + "/system/home/deploy", withIntermediateDirectories: true)
        for client in [db1, app1] {
            // The key the device checks the server's update answers with (a release would bring it).
            try FileManager.default.copyItem(atPath: server.root + "/server/server-key.asc", toPath: client.root + "/client/server-key.asc")
            #expect(try client.run("collect").status == 0)
            #expect(try client.run("submit").status == 0)
        }
        for (group, host) in [("db", "db1"), ("app", "app1"), ("staging", "db1")] {
            _ = try server.admin(["groups", "create", group])
            #expect(try server.admin(["groups", "add", group, host]).status == 0)
        }
        try sandbox.write("groups:\n  db:\n    command_timeout: 120\n    disabled_plugins: [counter]\n", to: "srv/server/client-settings.yml")
        try sandbox.write(
            "groups:\n  db: {input: drop}\nrules:\n  - {group: db, allow: {tcp: [5432]}, from_group: app}\n", to: "srv/server/firewall.yml")
        try sandbox.write(
            "people:\n  alice: {keys: [\"\(Self.aliceKey)\"]}\ngrants:\n  - {people: alice, account: deploy, devices: {group: staging}}\n",
            to: "srv/server/access.yml")

        let plan = try server.admin(["groups", "plan"])
        #expect(plan.status == 2, "\(plan.stdout)\(plan.stderr)")
        #expect(plan.stdout.contains("ip saddr { 198.51.100.7 } tcp dport { 5432 } accept"), "\(plan.stdout)")
        #expect(plan.stdout.contains("setting command_timeout: (not set) -> 120"), "\(plan.stdout)")
        #expect(plan.stdout.contains("authorized_keys of deploy:"), "\(plan.stdout)")
        let applied = try server.admin(["groups", "apply"])
        #expect(applied.status == 0 && applied.stdout.contains("2 devices' states changed"), "\(applied.stdout)\(applied.stderr)")
        #expect(try server.admin(["groups", "plan"]).status == 0)

        // db1 takes its state at its update.
        let updated = try db1.run("update")
        #expect(updated.status == 0, "\(updated.stdout)\(updated.stderr)")
        let log = try String(contentsOfFile: sandbox.path + "/nft-db1/log", encoding: .utf8)
        #expect(log.contains("policy drop;") && log.contains("ip saddr { 198.51.100.7 } tcp dport { 5432 } accept"), "\(log)")
        let keysPath = db1.root + "/system/home/deploy/.ssh/authorized_keys"
        let keys = try String(contentsOfFile: keysPath, encoding: .utf8)
        #expect(keys.hasPrefix("# Managed by Rookery") && keys.contains(Self.aliceKey), "\(keys)")
        let attributes = try FileManager.default.attributesOfItem(atPath: keysPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600 && (attributes[.ownerAccountID] as? Int) == 1001)
        let status = try db1.run("status")
        #expect(status.stdout.contains("command_timeout: 120  [fleet ("), "\(status.stdout)")

        // Its next document says what it runs: the counter plugin is off, the state is current.
        #expect(try db1.run("collect").status == 0)
        #expect(try db1.run("submit").status == 0)
        let document = try JSONValue.parse(Data(try server.admin(["clients", "show", "db1", "--json"]).stdout.utf8))
        let managed = document["document"]?["managed"] ?? document["managed"]
        #expect(managed?["settings"]?["status"] == .string("adopted"), "\(document)")
        #expect(managed?["firewall_live"]?["state"] == .string("matches"), "\(document)")
        #expect(managed?["running_settings"]?["command_timeout"]?["source"] == .string("fleet"), "\(document)")
        let current = try JSONValue.parse(Data(try server.admin(["groups", "plan", "--all", "--json", "--host", "db1"]).stdout.utf8))
        #expect(current.arrayValue?.first?["device_is_current"] == .bool(true), "\(current)")

        // app1's owner refused the firewall; app1 has no table to get anyway, and no keys but deploy's.
        #expect(try app1.run("update").status == 0)

        // Someone changes db1's table behind Rookery's back: the next document says so, the audit opens an issue.
        let loaded = sandbox.path + "/nft-db1/loaded"
        try (try String(contentsOfFile: loaded, encoding: .utf8) + "table ip other {\n}\n").write(
            toFile: loaded, atomically: true, encoding: .utf8)
        #expect(try db1.run("collect").status == 0)
        #expect(try db1.run("submit").status == 0)
        #expect(try server.admin(["issues", "audit"]).status == 0)
        #expect(try server.count("SELECT count(*) FROM issues WHERE name = 'managed-firewall-drift' AND closed_at IS NULL") == 1)
        // The device loaded its last good table again after reporting the drift.
        let drifted = try JSONValue.parse(Data(try server.admin(["clients", "show", "db1", "--json"]).stdout.utf8))
        let live = (drifted["document"]?["managed"] ?? drifted["managed"])?["firewall_live"]
        #expect(live?["state"] == .string("drifted") && live?["restored"]?["status"] == .string("applied"), "\(String(describing: live))")
        #expect(!(try String(contentsOfFile: loaded, encoding: .utf8)).contains("table ip other"))
        #expect(try db1.run("collect").status == 0)
        #expect(try db1.run("submit").status == 0)
        #expect(try server.admin(["issues", "audit"]).status == 0)
        #expect(try server.count("SELECT count(*) FROM issues WHERE name = 'managed-firewall-drift' AND closed_at IS NULL") == 0)
    }
}
