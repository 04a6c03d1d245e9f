import Foundation
import PostgresNIO
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryServer

/// The PostgreSQL backend's footing: the `database` URL, the password's sources, and migrations
/// against a real server (bin/test's throw-away cluster).
@Suite struct PostgresFoundationTests {
    @Test func aURLNamesUserHostPortDatabaseAndSSLMode() throws {
        let location = try PostgresLocation(url: "postgresql://rookery@db.example.org:6432/fleet?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(location.user == "rookery")
        #expect(location.host == "db.example.org")
        #expect(location.port == 6432)
        #expect(location.database == "fleet")
        #expect(location.sslMode == .verifyFull)
        #expect(location.rootCertificate == "/etc/ca.pem")
        let plain = try PostgresLocation(url: "postgres://app@[::1]/fleet")
        #expect(plain.host == "::1" && plain.port == 5432 && plain.sslMode == .prefer)
        #expect(try DatabaseLocation.parse("var/server/rookery.sqlite") == .sqlite(path: "var/server/rookery.sqlite"))
    }

    @Test(arguments: [
        ("postgresql://rookery:secret@db/fleet", "holds a password"),
        ("postgresql://db/fleet", "name the user"),
        ("postgresql://rookery@db", "name the database"),
        ("postgresql://rookery@db:99999/fleet", "port must be"),
        ("postgresql://rookery@db/fleet?sslmode=maybe", "sslmode must be one of"),
        ("postgresql://rookery@db/fleet?password=x", "unknown parameter password"),
        ("mysql://rookery@db/fleet", "only postgresql://")
    ])
    func aURLThatCannotBeUsedIsRefusedSayingWhy(url: String, reason: String) throws {
        #expect {
            try DatabaseLocation.parse(url)
        } throws: { error in
            "\(error)".contains(reason) && !"\(error)".contains("secret")
        }
    }

    @Test func thePasswordComesFromAFileOnlyItsOwnersReadOrTheEnvironment() throws {
        let sandbox = try Sandbox()
        try sandbox.write("s3cret\nignored\n", to: "pw", mode: 0o640)
        #expect(try PostgresPool.password(file: sandbox.path + "/pw", environment: [:]) == "s3cret")
        try sandbox.write("s3cret\n", to: "open", mode: 0o644)
        #expect(throws: SettingsError.self) { try PostgresPool.password(file: sandbox.path + "/open", environment: [:]) }
        #expect(try PostgresPool.password(file: nil, environment: ["ROOKERY_DATABASE_PASSWORD": "e"]) == "e")
        #expect(try PostgresPool.password(file: nil, environment: [:]) == nil)
    }

    @Test func migrationsBringAnEmptyDatabaseToThisSchemaOnceWhoeverStartsTogether() async throws {
        let test = try await PostgresTestDatabase()
        let (first, second) = (try test.open(), try test.open())
        #expect(try await PostgresMigrations.schemaState(first) == .behind(missing: PostgresMigrations.ids))
        async let one: Void = PostgresMigrations.migrate(first)
        async let two: Void = PostgresMigrations.migrate(second)
        _ = try await (one, two)
        #expect(try await PostgresMigrations.schemaState(first) == .current)
        let applied = try await first.client.query("SELECT count(*) FROM rookery_migrations").single(Int.self)
        #expect(applied == PostgresMigrations.all.count)
        try await first.client.query(
            "INSERT INTO devices (fingerprint, public_key, hostname, machine_id, state, enrolled_at) VALUES ('F', 'k', 'h', 'm', 'pending', now())")
        try await test.drop()
    }

    @Test func aDatabaseANewerServerMigratedIsRefused() async throws {
        let test = try await PostgresTestDatabase()
        let database = try test.open()
        try await PostgresMigrations.migrate(database)
        try await database.client.query("INSERT INTO rookery_migrations (id) VALUES ('v99-from-the-future')")
        #expect(try await PostgresMigrations.schemaState(database) == .ahead(unknown: ["v99-from-the-future"]))
        await #expect {
            try await PostgresMigrations.migrate(database)
        } throws: { error in
            error is SettingsError && "\(error)".contains("a newer server migrated it")
        }
        try await test.drop()
    }
}

/// Until the PostgreSQL store exists, a server given a PostgreSQL URL stops at start saying so,
/// rather than running on something else.
@Suite struct PostgresNotYetTests {
    @Test func aPostgreSQLDatabaseSettingStopsTheServerSayingItIsNotFinished() throws {
        let sandbox = try Sandbox()
        #expect {
            try makeServerContext(sandbox) { $0.database = "postgresql://rookery@127.0.0.1/fleet" }
        } throws: { error in
            "\(error)".contains("the PostgreSQL backend is not finished yet")
        }
        #expect {
            try makeServerContext(sandbox) { $0.database = "postgresql://rookery:pw@127.0.0.1/fleet" }
        } throws: { error in
            "\(error)".contains("holds a password") && !"\(error)".contains("pw@")
        }
    }
}
