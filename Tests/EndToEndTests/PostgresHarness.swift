import Foundation
import RookeryCore
import RookeryTestSupport

/// A database of its own on bin/test's throw-away PostgreSQL cluster (bin/_test-postgres), for
/// server processes sharing it, reached with Debian's `psql` as an operator would.
struct SharedPostgresDatabase {
    /// What `database:` says.
    let url: String
    let passwordFile: String
    private let cluster: String
    private let name: String

    init() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let cluster = environment["ROOKERY_TEST_POSTGRES_URL"], let file = environment["ROOKERY_TEST_POSTGRES_PASSWORD_FILE"]
        else { throw SettingsError("no test PostgreSQL cluster: run the tests through bin/test, which starts one") }
        self.cluster = cluster
        passwordFile = file
        name = "rk_" + (0..<12).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
        url = cluster.replacingOccurrences(of: "/postgres?", with: "/\(name)?")
        _ = try Self.psql(cluster, passwordFile: file, "CREATE DATABASE \(name)")
    }

    /// The settings lines that put a server on this database.
    var settingsLines: String { "database: \(url)\ndatabase_password_file: \(passwordFile)\n" }

    /// The one number a query returns (a count).
    func number(_ sql: String) throws -> Int {
        Int(try text(sql)) ?? -1
    }

    /// What a query returns, a row per line, columns separated by |.
    func text(_ sql: String) throws -> String {
        try Self.psql(url, passwordFile: passwordFile, sql).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func drop() {
        _ = try? Self.psql(cluster, passwordFile: passwordFile, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    private static func psql(_ url: String, passwordFile: String, _ sql: String) throws -> String {
        let password = try String(contentsOfFile: passwordFile, encoding: .utf8).trimmingCharacters(in: .newlines)
        let output = try runProcess(
            "/usr/bin/psql", [url, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql],
            environment: ["PGPASSWORD": password, "PATH": "/usr/bin:/bin"])
        guard output.status == 0 else { throw SettingsError("psql: \(output.stderr)") }
        return output.stdout
    }
}
