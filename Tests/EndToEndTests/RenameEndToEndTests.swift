import Foundation
import RookeryCore
import Testing

/// A device whose hostname changes, with the real binaries: renamed when its key is accepted and
/// the name is free; held and flagged when another key uses the name; refused while pending.
@Suite(.serialized) struct RenameEndToEndTests {
    /// A server that logs notices too (renames are logged at that level).
    func startedServer(_ sandbox: Sandbox) throws -> ServerProcess {
        let server = try ServerProcess(sandbox: sandbox)
        server.extraArguments = ["--log-level", "notice"]
        try server.start()
        return server
    }

    /// Gives the client another hostname, the way its owner would: in its own settings file.
    func rename(_ client: ClientRoot, to hostname: String) throws {
        let path = client.root + "/client/settings.yml"
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.filter { $0.hasPrefix("hostname: ") }.count == 1)
        try lines.map { $0.hasPrefix("hostname: ") ? "hostname: \(hostname)" : String($0) }.joined(separator: "\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
    }

    func devices(_ server: ServerProcess) throws -> [JSONValue] {
        let listed = try server.admin(["clients", "list", "--json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        return elements(try JSONValue.parse(Data(listed.stdout.utf8)))
    }

    func elements(_ value: JSONValue?) -> [JSONValue] {
        guard case .array(let elements)? = value else { return [] }
        return elements
    }

    func show(_ server: ServerProcess, _ host: String) throws -> JSONValue {
        let shown = try server.admin(["clients", "show", host, "--json"])
        #expect(shown.status == 0, "\(shown.stderr)")
        return try JSONValue.parse(Data(shown.stdout.utf8))
    }

    func serverLog(_ server: ServerProcess) -> String {
        (try? String(contentsOfFile: server.logFile, encoding: .utf8)) ?? ""
    }

    @Test func anAcceptedDeviceIsRenamedByItsNextCronRun() throws {
        let sandbox = try Sandbox()
        let server = try startedServer(sandbox)
        let client = try server.acceptedClient(sandbox: sandbox, name: "old-name", collections: 0)
        let key = try #require(try show(server, "old-name")["fingerprint"]?.stringValue)

        try rename(client, to: "new-name")
        let cron = try client.run("cron")
        #expect(cron.status == 0, "\(cron.stderr)")

        let listed = try devices(server)
        #expect(listed.count == 1)
        #expect(listed.first?["hostname"] == .string("new-name"))
        #expect(listed.first?["fingerprint"] == .string(key))
        let shown = try show(server, "new-name")
        let renames = elements(shown["renames"])
        #expect(renames.count == 1)
        #expect(renames.first?["old_hostname"] == .string("old-name"))
        #expect(renames.first?["new_hostname"] == .string("new-name"))
        // The collection cron made after the rename is stored with the same device.
        #expect(shown["document"]?["plugins"]?["counter"]?["n"] == .integer(1))
        #expect(try server.admin(["clients", "show", "old-name"]).status == 4)
        let log = serverLog(server).split(separator: "\n").filter { $0.contains("device renamed") }
        #expect(log.count == 1)
        #expect(
            log.first.map { $0.contains("from=old-name") && $0.contains("to=new-name") && $0.contains(key) } == true,
            "\(log)")

        // Cron runs after it ask nothing more: the server already knows the name.
        #expect(try client.run("submit").status == 0)
        #expect(serverLog(server).components(separatedBy: "device renamed").count == 2)
    }

    @Test func aRenameOntoANameAnotherKeyHoldsIsFlaggedNotMerged() throws {
        let sandbox = try Sandbox()
        let server = try startedServer(sandbox)
        let alpha = try server.acceptedClient(sandbox: sandbox, name: "alpha", collections: 0)
        _ = try server.acceptedClient(sandbox: sandbox, name: "beta", collections: 0)
        let betaKey = try #require(try show(server, "beta")["fingerprint"]?.stringValue)

        // Written another way, the name still clashes (see Device.clashName).
        try rename(alpha, to: "Beta.")
        #expect(try alpha.run("cron").status == 0)

        let listed = try devices(server)
        #expect(listed.compactMap { $0["hostname"]?.stringValue }.sorted() == ["alpha", "beta"])
        let shownAlpha = try show(server, "alpha")
        let flags = elements(shownAlpha["flags"]).compactMap(\.stringValue)
        #expect(
            flags.contains { $0.hasPrefix("asks to be renamed to Beta., held because hostname Beta. is also used, written beta, by key \(betaKey)") },
            "\(flags)")
        #expect(shownAlpha["renames"] == .array([]))
        #expect(try show(server, "beta")["flags"] == .array([]))
        #expect(serverLog(server).contains("rename held"))
        // The table marks it for the admin.
        #expect(try server.admin(["clients", "list"]).stdout.contains("(!)"))

        // Its owner goes back to the old name: the device asks once more, and the flag goes.
        try rename(alpha, to: "alpha")
        #expect(try alpha.run("submit").status == 0)
        #expect(try show(server, "alpha")["flags"] == .array([]))

        // Asked again, held again; once the admin forgets the device holding the name, the
        // rename goes through at the next submission.
        try rename(alpha, to: "beta")
        #expect(try alpha.run("submit").status == 0)
        #expect(elements(try show(server, "alpha")["flags"]).count == 1)
        #expect(try server.admin(["clients", "forget", betaKey]).status == 0)
        #expect(try alpha.run("submit").status == 0)
        let renamed = try show(server, "beta")
        #expect(renamed["fingerprint"] == shownAlpha["fingerprint"])
        #expect(renamed["flags"] == .array([]))
        #expect(elements(renamed["renames"]).count == 1)
    }

    /// Refused by the check in `SQLiteStore.rename` that the device is accepted.
    @Test func aPendingDeviceCannotRenameItself() throws {
        let sandbox = try Sandbox()
        let server = try startedServer(sandbox)
        let client = try ClientRoot(sandbox: sandbox, name: "gamma", serverURL: server.url)
        #expect(try client.run("enroll").status == 0)
        let key = try #require(try show(server, "gamma")["fingerprint"]?.stringValue)

        try rename(client, to: "delta")
        let refused = try client.run("enroll")
        #expect(refused.status == 3)
        #expect(refused.stderr.contains("not_accepted"), "\(refused.stderr)")
        #expect(refused.stderr.contains("bin/clients accept \(key)"), "\(refused.stderr)")
        let listed = try devices(server)
        #expect(listed.map { $0["hostname"] } == [.string("gamma")])
        #expect(try show(server, "gamma")["renames"] == .array([]))

        // The command the refusal names works; once accepted, the device renames itself at its
        // first delivery, which tells it it is accepted.
        #expect(try server.admin(["clients", "accept", key]).status == 0)
        #expect(try client.run("collect").status == 0)
        #expect(try client.run("submit").status == 0)
        #expect(try devices(server).map { $0["hostname"] } == [.string("delta")])
    }
}
