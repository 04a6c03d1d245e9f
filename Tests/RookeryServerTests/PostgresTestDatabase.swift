import Foundation
import GRDB
import Logging
import PostgresNIO
import RookeryCore
import Testing

@testable import RookeryServer

/// A database of its own on the throw-away cluster bin/test starts (bin/_test-postgres), for one
/// test; `drop()` removes it. Without that cluster (`swift test` run by hand) the test fails
/// saying so.
final class PostgresTestDatabase: Sendable {
    let location: PostgresLocation
    let password: String
    /// The cluster's password file (bin/_test-postgres), for a server's `database_password_file`.
    let passwordFile: String
    private let admin: PostgresPool

    init() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["ROOKERY_TEST_POSTGRES_URL"], let file = environment["ROOKERY_TEST_POSTGRES_PASSWORD_FILE"]
        else {
            throw SettingsError("no test PostgreSQL cluster: run the tests through bin/test, which starts one")
        }
        passwordFile = file
        password = try #require(try PostgresPool.password(file: file, environment: [:]))
        let cluster = try PostgresLocation(url: url)
        admin = try PostgresPool(location: cluster, password: password, maximumConnections: 1, logger: quietLogger)
        let name = "rk_" + (0..<12).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
        try await admin.client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: quietLogger)
        var own = cluster
        own.database = name
        location = own
    }

    /// A connection pool to this test's database.
    func open(maximumConnections: Int = 4) throws -> PostgresPool {
        try PostgresPool(location: location, password: password, maximumConnections: maximumConnections, logger: quietLogger)
    }

    func drop() async throws {
        try await admin.client.query(
            PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(location.database) WITH (FORCE)"), logger: quietLogger)
    }
}

extension StoreBackend {
    /// The backend this run of the suites uses: SQLite files, or, in bin/test's PostgreSQL round
    /// (ROOKERY_TEST_DATABASE=postgresql), a database of its own per test on the test cluster.
    static var current: StoreBackend {
        ProcessInfo.processInfo.environment["ROOKERY_TEST_DATABASE"] == "postgresql" ? .postgres : .sqlite
    }

    /// Points `settings` at a fresh database of this backend (a SQLite file under the root).
    func configure(_ settings: inout ServerSettings) async throws {
        switch self {
        case .sqlite:
            settings.database = "var/server/test.sqlite"
        case .postgres:
            let database = try await PostgresTestDatabase()
            settings.database = database.location.description
            settings.databasePasswordFile = database.passwordFile
            settings.databaseConnections = 4
        }
    }

    /// Runs a statement of the test's own (`?` marks the one argument on both backends).
    static func execute(_ sql: String, _ argument: String? = nil, on store: any Store) async throws {
        switch store {
        case let sqlite as SQLiteStore:
            try await sqlite.pool.write { db in try db.execute(sql: sql, arguments: StatementArguments(argument.map { [$0] } ?? [])) }
        case let postgres as PostgresStore:
            var query = PostgresQuery(unsafeSQL: sql.replacingOccurrences(of: "?", with: "$1"))
            if let argument { query.binds.append(argument) }
            try await postgres.pool.client.query(query, logger: quietLogger)
        default:
            Issue.record("a store of neither backend")
        }
    }

    /// The one number a query of the test's own returns (a count).
    static func number(_ sql: String, _ argument: String? = nil, on store: any Store) async throws -> Int {
        switch store {
        case let sqlite as SQLiteStore:
            return try await sqlite.pool.read { db in
                try Int.fetchOne(db, sql: sql, arguments: StatementArguments(argument.map { [$0] } ?? [])) ?? -1
            }
        case let postgres as PostgresStore:
            var query = PostgresQuery(unsafeSQL: sql.replacingOccurrences(of: "?", with: "$1"))
            if let argument { query.binds.append(argument) }
            return try await postgres.pool.client.query(query, logger: quietLogger).single(Int.self) ?? -1
        default:
            Issue.record("a store of neither backend")
            return -1
        }
    }

    /// Where the store records its migrations, and the newest this binary has.
    static func migrations(of store: any Store) -> (table: String, column: String, newest: String) {
        store is PostgresStore
            ? ("rookery_migrations", "id", PostgresMigrations.ids.last!)
            : ("grdb_migrations", "identifier", SQLiteMigrations.migrator.migrations.last!)
    }
}
