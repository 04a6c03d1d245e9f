import Foundation
import RookeryCore
import Testing

/// `patch-hosts add|remove|list|cancel` as subcommands, the deprecated `--host H ACTION` form,
/// and the question asked before a wipe, with the real binary and a real server.
@Suite struct PatchHostsEndToEndTests {
    @Test func theSubcommandsQueueListAndCancel() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess.started(in: sandbox)
        _ = try server.acceptedClient(sandbox: sandbox, name: "c1", collections: 0)
        try sandbox.write("#!/bin/sh\necho '{}'\n", to: "extra.sh")

        let added = try server.admin([
            "patch-hosts", "add", "--host", "c1", "--mode", "755", "--json",
            "client/plugins/extra.sh", sandbox.path + "/extra.sh"
        ])
        #expect(added.status == 0, "\(added.stderr)")
        guard case .array(let queued) = try JSONValue.parse(Data(added.stdout.utf8)), queued.count == 1 else {
            Issue.record("add --json is not a list of one: \(added.stdout)")
            return
        }
        #expect(queued[0]["host"] == .string("c1") && queued[0]["mode"] == .string("755"), "\(added.stdout)")
        // The form before subcommands still works (deprecated, docs/releases.md).
        let removed = try server.admin(["patch-hosts", "--host", "c1", "remove", "client/plugins/old.sh"])
        #expect(removed.status == 0, "\(removed.stderr)")
        #expect(removed.stdout.hasPrefix("queued remove client/plugins/old.sh on c1 (patch "), "\(removed.stdout)")

        let listed = try JSONValue.parse(Data(try server.admin(["patch-hosts", "list", "--host", "c1", "--json"]).stdout.utf8))
        guard case .array(let pending) = listed else {
            Issue.record("list --json is not a list")
            return
        }
        #expect(
            pending.map { $0["target"] } == [.string("client/plugins/extra.sh"), .string("client/plugins/old.sh")]
                || pending.map { $0["target"] } == [.string("client/plugins/old.sh"), .string("client/plugins/extra.sh")])

        let cancelled = try server.admin(["patch-hosts", "cancel", "--host", "c1", "client/plugins/extra.sh"])
        #expect(
            cancelled.status == 0 && cancelled.stdout == "cancelled client/plugins/extra.sh on c1\n",
            "\(cancelled.stdout)\(cancelled.stderr)")
        let again = try server.admin(["patch-hosts", "cancel", "--host", "c1", "client/plugins/extra.sh"])
        #expect(again.status == 4 && again.stderr.contains("no pending patch for client/plugins/extra.sh"), "\(again.stderr)")
        #expect(try server.count("SELECT count(*) FROM patches WHERE state = 'pending'") == 1)
    }

    @Test func mistakesAreUsageErrorsOrSayWhatIsMissing() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        try sandbox.write("x\n", to: "payload")
        let noHost = try server.admin(["patch-hosts", "add", "client/x", sandbox.path + "/payload"])
        #expect(noHost.status == 65 && noHost.stderr.contains("--host"), "\(noHost.stderr)")
        let noSource = try server.admin(["patch-hosts", "add", "--host", "h", "client/x"])
        #expect(noSource.status == 64 && noSource.stderr.contains("Usage: rookery patch-hosts add "), "\(noSource.stderr)")
        let badMode = try server.admin(["patch-hosts", "add", "--host", "h", "--mode", "9", "client/x", sandbox.path + "/payload"])
        #expect(badMode.status == 64 && badMode.stderr.contains("--mode 9 is not octal"), "\(badMode.stderr)")
        let unknown = try server.admin(["patch-hosts", "apply"])
        #expect(unknown.status == 64, "\(unknown.stderr)")
    }

    /// Without a terminal to ask on, a wipe needs --yes, and the refusal says so; nothing is queued.
    @Test func aWipeWithoutATerminalNeedsYes() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess.started(in: sandbox)
        _ = try server.acceptedClient(sandbox: sandbox, name: "w1", collections: 0)
        let refused = try withoutTerminal(server, ["client-wipe", "w1"])
        #expect(refused.status == 64, "\(refused.stderr)")
        #expect(refused.stderr.contains("add --yes"), "\(refused.stderr)")
        #expect(try server.count("SELECT count(*) FROM patches") == 0)
        let queued = try withoutTerminal(server, ["client-wipe", "w1", "--yes"])
        #expect(queued.status == 0 && queued.stdout.hasPrefix("queued wipe on w1 "), "\(queued.stderr)")
        #expect(try server.count("SELECT count(*) FROM patches WHERE target = 'client/commands/wipe'") == 1)
    }

    /// `rookery ARGUMENTS` with standard input from /dev/null: never a terminal, wherever the tests run.
    private func withoutTerminal(_ server: ServerProcess, _ arguments: [String]) throws -> ProcessOutput {
        try runProcess(
            "/bin/sh", ["-c", "exec \"$0\" \"$@\" < /dev/null", binaryDirectory + "/rookery"] + arguments,
            environment: ProcessInfo.processInfo.environment.merging(["ROOKERY_HOME": server.root]) { $1 })
    }
}
