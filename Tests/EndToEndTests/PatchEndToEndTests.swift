import Foundation
import RookeryCore
import Testing

/// Patches, one-time commands and wipe with the real binaries and a real server.
@Suite(.serialized) struct PatchEndToEndTests {
    @Test func aPatchReachesOnlyItsTargetsAndIsAcknowledged() throws {
        let fleet = try ReleaseFleet(devices: ["p1", "p2"])
        try fleet.sandbox.write("#!/bin/sh\necho '{\"extra\": true}'\n", to: "extra.sh")
        let queued = try fleet.server.admin([
            "patch-hosts", "add", "--host", "p1", "--mode", "755",
            "client/plugins/extra.sh", fleet.sandbox.path + "/extra.sh"
        ])
        #expect(queued.status == 0, "\(queued.stderr)")
        // A second pending patch of the same file on the same device is refused.
        let twice = try fleet.server.admin([
            "patch-hosts", "add", "--host", "p1", "client/plugins/extra.sh",
            fleet.sandbox.path + "/extra.sh"
        ])
        #expect(twice.status == 5)
        #expect(twice.stderr.contains("already has a pending patch"))

        for client in fleet.clients { #expect(try fleet.update(client).status == 0) }
        let patched = fleet["p1"].root + "/client/plugins/extra.sh"
        #expect(FileManager.default.isExecutableFile(atPath: patched))
        #expect(!FileManager.default.fileExists(atPath: fleet["p2"].root + "/client/plugins/extra.sh"))
        #expect(try fleet.server.count("SELECT count(*) FROM patches WHERE state = 'applied'") == 1)

        // The patched plugin runs at the next collection.
        #expect(try fleet["p1"].run("collect").status == 0)
        #expect(try fleet["p1"].run("submit").status == 0)
        #expect(try fleet.document(of: "p1")["plugins"]?["extra"]?["extra"] == .bool(true))

        // Listing shows what happened; a removal takes it away again.
        let listed = try JSONValue.parse(Data(try fleet.server.admin(["patch-hosts", "list", "--all", "--json"]).stdout.utf8))
        guard case .array(let patches) = listed else {
            Issue.record("list --json is not a list")
            return
        }
        #expect(patches.map { $0["state"] } == [.string("applied")])
        // Without --all, a finished patch is not "no patches"; with it, the columns line up.
        let pendingOnly = try fleet.server.admin(["patch-hosts", "list"])
        #expect(pendingOnly.stdout == "no pending patches; 1 finished (--all shows it)\n", "\(pendingOnly.stdout)")
        let table = try fleet.server.admin(["patch-hosts", "list", "--all"]).stdout.split(separator: "\n").map(String.init)
        #expect(table.count == 2, "\(table)")
        func column(_ line: String?, _ text: String) -> Int? {
            line.flatMap { line in line.range(of: text).map { line.distance(from: line.startIndex, to: $0.lowerBound) } }
        }
        for (title, value) in [("ACTION", "write"), ("TARGET", "client/plugins/extra.sh"), ("STATE", "applied")] {
            #expect(column(table.first, title) != nil)
            #expect(column(table.first, title) == column(table.last, value), "\(title): \(table)")
        }
        #expect(try fleet.server.admin(["patch-hosts", "remove", "--host", "p1", "client/plugins/extra.sh"]).status == 0)
        #expect(try fleet.update(fleet["p1"]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: patched))
    }

    @Test func unsafeTargetsAreRefusedByTheServerAndByTheDevice() throws {
        let fleet = try ReleaseFleet(devices: ["u1"])
        try fleet.sandbox.write("x\n", to: "payload")
        for target in ["../escape", "/etc/passwd", "client/../../escape", "client/settings.yml", "var/client/state.json"] {
            let queued = try fleet.server.admin(["patch-hosts", "add", "--host", "u1", target, fleet.sandbox.path + "/payload"])
            #expect(queued.status == 65, "\(target)")
        }
        #expect(try fleet.server.count("SELECT count(*) FROM patches") == 0)

        // Should one reach the database anyway, the device refuses it and says so.
        let key = try #require(try JSONValue.parse(Data(try fleet.server.admin(["clients", "show", "u1", "--json"]).stdout.utf8))["fingerprint"]?.stringValue)
        for target in ["client/../../escape", "/tmp/rookery-escape-\(getpid())"] {
            // The content "x", as a blob literal of the server's database.
            let content = fleet.server.postgres == nil ? "X'78'" : "'\\x78'::bytea"
            try fleet.server.sql(
                """
                INSERT INTO patches (fingerprint, target, action, mode, content, state, created_at)
                VALUES ('\(key)', '\(target)', 'write', 420, \(content), 'pending', '2026-01-01 00:00:00.000')
                """)
        }
        let (status, report) = try fleet.update(fleet["u1"])
        #expect(status == 1)
        #expect(report["patches_refused"] == .integer(2))
        #expect(!FileManager.default.fileExists(atPath: fleet.sandbox.path + "/escape"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/rookery-escape-\(getpid())"))
        #expect(try fleet.server.count("SELECT count(*) FROM patches WHERE state = 'refused'") == 2)
    }

    @Test func aCommandsOutputArrivesAndFailuresAreBounded() throws {
        let fleet = try ReleaseFleet(devices: ["m1"], settings: "command_max_failures: 2\n")
        let device = fleet["m1"]
        #expect(
            try fleet.server.admin([
                "client-command", "--host", "m1", "--name", "greet",
                "--command", "echo hello; echo oops >&2"
            ]).status == 0)
        #expect(try fleet.server.admin(["client-command", "--host", "m1", "--name", "broken", "--command", "exit 3"]).status == 0)
        try updateCollectSubmit(device)

        let commands = try fleet.document(of: "m1")["commands"]
        #expect(commands?["greet"]?["output"] == .string("hello\n"))
        #expect(commands?["greet"]?["stderr"] == .string("oops\n"))
        #expect(commands?["greet"]?["returncode"] == .integer(0))
        #expect(commands?["greet"]?["finished_at"]?.stringValue != nil)
        #expect(commands?["broken"]?["returncode"] == .integer(3))
        #expect(!FileManager.default.fileExists(atPath: device.root + "/client/commands/greet"))
        #expect(FileManager.default.fileExists(atPath: device.root + "/client/commands/broken"))

        // The second failure is the last: the command is given up and removed.
        #expect(try device.run("collect").status == 0)
        #expect(try device.run("submit").status == 0)
        let after = try fleet.document(of: "m1")["commands"]
        #expect(after?["broken"]?["gave_up"] == .bool(true))
        #expect(after?["greet"]?["output"] == .string("hello\n"))
        #expect(!FileManager.default.fileExists(atPath: device.root + "/client/commands/broken"))
        let shown = try fleet.server.admin(["clients", "show", "m1"]).stdout
        #expect(shown.contains("commands.greet.output"))

        // An acknowledgement that never arrived: the patch comes again, and is acknowledged, not
        // applied again, so the command does not run twice.
        try fleet.server.sql("UPDATE patches SET state = 'pending', finished_at = NULL WHERE target = 'client/commands/greet'")
        let (status, report) = try fleet.update(device)
        #expect(status == 0)
        #expect(report["patches_applied"] == .integer(1))
        #expect(!FileManager.default.fileExists(atPath: device.root + "/client/commands/greet"))
        #expect(try fleet.server.count("SELECT count(*) FROM patches WHERE state = 'pending'") == 0)
    }

    @Test func theDeviceOwnerCanTurnCommandsOff() throws {
        let fleet = try ReleaseFleet(devices: ["n1"], settings: "allow_commands: false\n")
        #expect(try fleet.server.admin(["client-command", "--host", "n1", "--name", "nope", "--command", "touch /tmp/nope"]).status == 0)
        let (status, report) = try fleet.update(fleet["n1"])
        #expect(status == 1)
        #expect(report["patches_refused"] == .integer(1))
        #expect(!FileManager.default.fileExists(atPath: fleet["n1"].root + "/client/commands/nope"))
        #expect(try fleet["n1"].run("collect").status == 0)
        #expect(try fleet["n1"].run("submit").status == 0)
        let refused = try fleet.document(of: "n1")["commands"]?["nope"]?["refused"]?.stringValue
        #expect(refused?.contains("allow_commands") == true)
        #expect(try fleet.server.count("SELECT count(*) FROM patches WHERE state = 'refused'") == 1)
    }

    @Test func wipeEmptiesOnlyTheSandboxRoot() throws {
        let fleet = try ReleaseFleet(devices: ["w1"])
        let device = fleet["w1"]
        let system = device.root + "/system"
        try fleet.sandbox.write(
            """
            root:x:0:0:root:/root:/bin/bash
            daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
            alice:x:1000:1000:Alice:/home/alice:/bin/bash
            bob:x:1001:1001:Bob:/home/bob:/bin/bash

            """, to: "w1/system/etc/passwd")
        try fleet.sandbox.write("root:x:0:\nalice:x:1000:\nbob:x:1001:\nsudo:x:27:alice\n", to: "w1/system/etc/group")
        try fleet.sandbox.write("secret\n", to: "w1/system/home/alice/notes.txt")
        try fleet.sandbox.write("secret\n", to: "w1/system/home/bob/.ssh/id_ed25519")
        try fleet.sandbox.write("keep\n", to: "w1/system/root/keep.txt")
        try fleet.sandbox.write("keep\n", to: "w1/outside/home/alice/keep.txt")
        let realPasswd = try Data(contentsOf: URL(fileURLWithPath: "/etc/passwd"))

        let refused = try fleet.server.admin(["client-wipe", "w1"])
        #expect(refused.status != 0, "a wipe without --yes from a script must not queue")
        let queued = try fleet.server.admin(["client-wipe", "w1", "--yes"])
        #expect(queued.status == 0, "\(queued.stderr)")
        try updateCollectSubmit(device)

        let wipe = try fleet.document(of: "w1")["commands"]?["wipe"]
        #expect(wipe?["returncode"] == .integer(0), "\(String(describing: wipe))")
        let report = try JSONValue.parse(Data((wipe?["output"]?.stringValue ?? "").utf8))
        #expect(report["deleted_accounts"] == .array([.string("alice"), .string("bob")]))
        #expect(!FileManager.default.fileExists(atPath: system + "/home/alice"))
        #expect(!FileManager.default.fileExists(atPath: system + "/home/bob"))
        #expect(FileManager.default.fileExists(atPath: system + "/root/keep.txt"))
        #expect(FileManager.default.fileExists(atPath: device.root + "/outside/home/alice/keep.txt"))
        let passwd = try String(contentsOfFile: system + "/etc/passwd", encoding: .utf8)
        #expect(passwd == "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: "/etc/passwd")) == realPasswd)
    }

    // MARK: - Helpers

    private func updateCollectSubmit(_ device: ClientRoot, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for step in ["update", "collect", "submit"] {
            let ran = try device.run(step)
            #expect(ran.status == 0, "\(step): \(ran.stdout) \(ran.stderr)", sourceLocation: sourceLocation)
        }
    }
}
