import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryServer

/// `health` and `ready`, through the router, on a real SQLite file.
@Suite struct HealthTests {
    static func get(_ client: some TestClientProtocol, _ path: String) async throws -> (HTTPResponse.Status, JSONValue) {
        try await client.execute(uri: "/rookery/v1/" + path, method: .get) { response in
            (response.status, try JSONValue.parse(Data(buffer: response.body)))
        }
    }

    @Test func healthSaysAliveAndReadySaysReadyOnACurrentDatabase() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox)
        try await withServer(context, accepting: [], over: .router) { client in
            let health = try await Self.get(client, "health")
            #expect(health.0 == .ok)
            #expect(health.1["status"] == .string("alive"))
            let ready = try await Self.get(client, "ready")
            #expect(ready.0 == .ok)
            #expect(ready.1["status"] == .string("ready"))
        }
    }

    @Test func aDrainingServerIsNotReadyButStillAlive() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox)
        try await withServer(context, accepting: [], over: .router) { client in
            context.readiness.beginDraining()
            let ready = try await Self.get(client, "ready")
            #expect(ready.0 == .serviceUnavailable)
            #expect(ready.1["error"] == .string("not_ready"))
            #expect(ready.1["message"]?.stringValue?.contains("shutting down") == true, "\(ready.1)")
            #expect(try await Self.get(client, "health").0 == .ok)
        }
    }

    /// A database a newer server migrated: this one must not be sent requests.
    @Test func aDatabaseWithAMigrationThisServerDoesNotKnowIsNotReady() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox)
        let migrations = StoreBackend.migrations(of: context.store)
        try await StoreBackend.execute(
            "INSERT INTO \(migrations.table) (\(migrations.column)) VALUES ('v99-from-the-future')", on: context.store)
        let verdict = await ServerReadiness(store: context.store).check()
        #expect(!verdict.ready)
        #expect(verdict.problem?.contains("v99-from-the-future") == true, "\(String(describing: verdict.problem))")
        #expect(try await context.store.schemaState() == .ahead(unknown: ["v99-from-the-future"]))
    }

    @Test func aDatabaseMissingAMigrationIsNotReady() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox)
        let migrations = StoreBackend.migrations(of: context.store)
        try await StoreBackend.execute(
            "DELETE FROM \(migrations.table) WHERE \(migrations.column) = ?", migrations.newest, on: context.store)
        let state = try await context.store.schemaState()
        #expect(state == .behind(missing: [migrations.newest]), "\(state)")
        #expect(await ServerReadiness(store: context.store).check().ready == false)
    }

    /// What the server logs as it starts: the migrations its store applied on opening, in
    /// order; on the next opening, none.
    @Test func aStoreSaysWhichMigrationsItAppliedWhenItOpened() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox)
        let all = context.store is PostgresStore ? PostgresMigrations.ids : SQLiteMigrations.migrator.migrations
        #expect(context.store.migrationsAppliedOnOpening == all)
        let again = try await AdminContext.openStore(context.settings, root: context.root)
        #expect(again.migrationsAppliedOnOpening == [])
    }

    /// One database read per second at most, whatever the number of checks.
    @Test func aVerdictIsKeptForASecond() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox)
        let readiness = ServerReadiness(store: context.store)
        let start = Date()
        #expect(await readiness.check(now: start).ready)
        let migrations = StoreBackend.migrations(of: context.store)
        try await StoreBackend.execute("INSERT INTO \(migrations.table) (\(migrations.column)) VALUES ('v99-later')", on: context.store)
        #expect(await readiness.check(now: start.addingTimeInterval(0.5)).ready, "kept")
        #expect(await readiness.check(now: start.addingTimeInterval(1.5)).ready == false, "read again after a second")
    }

    /// Checks that arrive while the database is being read wait for that read: a slow database
    /// is still read once, however many ask.
    @Test func checksDuringAReadShareIt() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox)
        let reads = Locked(0)
        let readiness = ServerReadiness(schemaState: {
            reads.withLock { $0 += 1 }
            try await Task.sleep(for: .milliseconds(300))
            return try await context.store.schemaState()
        })
        let now = Date()
        let verdicts = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<50 { group.addTask { await readiness.check(now: now).ready } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(verdicts.count == 50 && verdicts.allSatisfy { $0 })
        #expect(reads.current == 1)
    }
}
