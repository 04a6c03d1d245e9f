import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// Two server processes on one database, and a device given both (`server_urls`): it carries on
/// when the one it uses stops, and stays with the one that answered.
@Suite struct ServerFailoverEndToEndTests {
    /// On one SQLite file (one host), and on PostgreSQL (issue 18).
    @Test(arguments: [false, true])
    func aDeviceWithTwoServerURLsCarriesOnWhenTheFirstStops(onPostgreSQL: Bool) throws {
        let sandbox = try Sandbox()
        let postgres = onPostgreSQL ? try SharedPostgresDatabase() : nil
        defer { postgres?.drop() }
        let first = try ServerProcess.started(in: sandbox, postgres: postgres)
        // The second process: same install root, same database, a port of its own.
        let second = try ServerProcess.started(in: sandbox, postgres: postgres)
        #expect(first.port != second.port)
        let client = try first.acceptedClient(
            sandbox: sandbox, name: "laptop", collections: 1, settings: "server_urls: \"\(first.url) \(second.url)\"\n")
        let inUse = client.root + "/var/client/server-in-use"
        func serverInStatus() throws -> String? {
            let shown = try client.run("status", "--json")
            return try JSONValue.parse(Data(shown.stdout.utf8))["server_url"]?.stringValue
        }

        #expect(try client.run("submit").status == 0)
        #expect(try first.count("SELECT count(*) FROM submissions") == 1)
        #expect(!FileManager.default.fileExists(atPath: inUse), "the first answered: nothing to remember")

        #expect(first.terminate(within: 15))
        try client.run("collect")
        let carried = try client.run("submit")
        #expect(carried.status == 0, "\(carried.stderr)")
        #expect(try second.count("SELECT count(*) FROM submissions") == 2)
        #expect(try String(contentsOfFile: inUse, encoding: .utf8) == second.url + "\n")
        #expect(try serverInStatus() == second.url)
        let log = try String(contentsOfFile: client.root + "/var/client/client.log", encoding: .utf8)
        #expect(log.contains("\(first.url) did not answer; \(second.url) did"), "\(log)")

        // The first is back; the device stays with the second until it stops answering in turn.
        try first.start()
        #expect(try serverInStatus() == second.url)
        #expect(second.terminate(within: 15))
        try client.run("collect")
        #expect(try client.run("submit").status == 0)
        #expect(try first.count("SELECT count(*) FROM submissions") == 3)
        #expect(try serverInStatus() == first.url)
    }

    @Test func withBothServersDownTheRunSaysSoNamingEach() throws {
        let sandbox = try Sandbox()
        let first = try ServerProcess.started(in: sandbox)
        let second = try ServerProcess.started(in: sandbox)
        let client = try first.acceptedClient(
            sandbox: sandbox, name: "laptop", collections: 1, settings: "server_urls: \"\(first.url) \(second.url)\"\n")
        #expect(first.terminate(within: 15))
        #expect(second.terminate(within: 15))
        let failed = try client.run("submit")
        #expect(failed.status == 3, "unreachable: \(failed.status) \(failed.stderr)")
        #expect(failed.stderr.contains("no server answered"), "\(failed.stderr)")
        #expect(failed.stderr.contains(first.url) && failed.stderr.contains(second.url), "\(failed.stderr)")
        #expect(client.queued().count == 1, "nothing lost")
    }
}
