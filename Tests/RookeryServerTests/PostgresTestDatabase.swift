import Foundation
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
