import Foundation
import RookeryCore

/// A database of its own on bin/test's throw-away PostgreSQL cluster (bin/_test-postgres), for
/// server processes sharing it, reached with Debian's `psql` as an operator would.
public struct SharedPostgresDatabase: Sendable {
    /// What `database:` says.
    public let url: String
    public let passwordFile: String
    private let cluster: String
    private let name: String

    public init() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let cluster = environment["ROOKERY_TEST_POSTGRES_URL"], let file = environment["ROOKERY_TEST_POSTGRES_PASSWORD_FILE"]
        else { throw SettingsError("no test PostgreSQL cluster: run the tests through bin/test, which starts one") }
        self.cluster = cluster
        passwordFile = file
        name = "rk_" + (0..<12).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
        url = cluster.replacingOccurrences(of: "/postgres?", with: "/\(name)?")
        _ = try Self.psql(cluster, passwordFile: file, "CREATE DATABASE \(name)")
    }

    /// Whether this run of the end-to-end suites puts every server on PostgreSQL (bin/test's
    /// PostgreSQL round of them sets ROOKERY_TEST_E2E_DATABASE=postgresql; the server suites'
    /// round has a variable of its own, since their sandboxes hold settings files of other kinds).
    public static var isThisRunsBackend: Bool {
        ProcessInfo.processInfo.environment["ROOKERY_TEST_E2E_DATABASE"] == "postgresql"
    }

    /// The settings lines that put a server on this database.
    public var settingsLines: String { "database: \(url)\ndatabase_password_file: \(passwordFile)\n" }

    /// The one number a query returns (a count).
    public func number(_ sql: String) throws -> Int {
        Int(try text(sql)) ?? -1
    }

    /// What a query returns, a row per line, columns separated by |.
    public func text(_ sql: String) throws -> String {
        try Self.psql(url, passwordFile: passwordFile, sql).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every row of every table as `pg_dump --data-only` writes it: what the database holds, as
    /// far as anyone reading it through PostgreSQL can tell.
    public func dump() throws -> Data {
        Data(try Self.run("/usr/bin/pg_dump", [url, "--data-only"], passwordFile: passwordFile).utf8)
    }

    public func drop() {
        _ = try? Self.psql(cluster, passwordFile: passwordFile, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    private static func psql(_ url: String, passwordFile: String, _ sql: String) throws -> String {
        try run("/usr/bin/psql", [url, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql], passwordFile: passwordFile)
    }

    /// Runs one of PostgreSQL's client programs with the cluster's password; what it printed.
    private static func run(_ program: String, _ arguments: [String], passwordFile: String) throws -> String {
        let password = try String(contentsOfFile: passwordFile, encoding: .utf8).trimmingCharacters(in: .newlines)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        process.environment = ["PGPASSWORD": password, "PATH": "/usr/bin:/bin"]
        let output = Pipe()
        // What it says on failure is short; it goes to a file, so neither pipe can fill and stall it.
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("psql-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SettingsError("\(program): \((try? String(contentsOf: errors, encoding: .utf8)) ?? "failed")")
        }
        return String(decoding: printed, as: UTF8.self)
    }
}
