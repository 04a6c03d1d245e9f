import ArgumentParser
import Foundation
import Logging
import RookeryCore
import RookeryServer

/// `bin/migrate_store`: a SQLite installation moved into an empty PostgreSQL database.
struct MigrateStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-store", abstract: "Copy the SQLite database into an empty PostgreSQL database, then compare.",
        discussion: """
            Every table and row is copied, ids kept, in one PostgreSQL transaction (all or nothing); \
            then each table's row count and a checksum of its values are read back from both and \
            compared. Stop the server first: what arrives during the copy is not in it. The target \
            must be empty (a new database; its schema is made here). The password comes from \
            --password-file or ROOKERY_DATABASE_PASSWORD. Afterwards set `database:` (and \
            database_password_file) in server/settings.yml and start the server (docs/scaling.md).
            Exit codes: 0 copied and every table the same, 1 a table differs, 3 PostgreSQL cannot be \
            reached, 4 no SQLite file there, 5 the target is not empty, 64 a URL or password file refused.
            """)

    @Option(help: "The SQLite file (relative to the install root unless absolute).")
    var from: String = "var/server/rookery.sqlite"
    @Option(help: "The PostgreSQL database: postgresql://USER@HOST:PORT/DATABASE?sslmode=...")
    var to: String
    @Option(help: "A file holding the PostgreSQL password (readable by its owners only).")
    var passwordFile: String?
    @OptionGroup var output: OutputOptions

    func run() async throws {
        let root = InstallRoot.fromEnvironment()
        let migration = try await CommandFailure.openingAsynchronously {
            guard case .postgres(let location) = try DatabaseLocation.parse(to) else {
                throw SettingsError("--to: \(to) is not a postgresql:// URL")
            }
            let password = try PostgresPool.password(
                file: passwordFile.map(root.resolve), environment: ProcessInfo.processInfo.environment)
            return try await StoreMigration.open(
                sqlite: root.resolve(from), postgres: location, password: password)
        }
        let reports = try await migration.run { line in
            if !output.json { FileHandle.standardError.write(Data("copied \(line)\n".utf8)) }
        }
        print(output.json ? StoreMigrationFormatter.json(reports) : StoreMigrationFormatter.text(reports))
        if reports.contains(where: { !$0.matches }) { throw ExitCode(.failed) }
    }
}

/// What `migrate-store` prints.
enum StoreMigrationFormatter {
    static func text(_ reports: [StoreMigration.TableReport]) -> String {
        let rows = reports.map { report in
            [report.table, String(report.rows), String(report.targetRows), report.matches ? "same" : "DIFFERENT"]
        }
        let verdict =
            reports.allSatisfy(\.matches)
            ? "every table has the same rows and values in both databases"
            : "some tables differ: do not switch to PostgreSQL; see the tables marked DIFFERENT"
        return TextTable.render([["TABLE", "SQLITE ROWS", "POSTGRESQL ROWS", "CHECKSUM"]] + rows) + "\n" + verdict
    }

    static func json(_ reports: [StoreMigration.TableReport]) -> String {
        JSONValue.object([
            "same": .bool(reports.allSatisfy(\.matches)),
            "tables": .array(
                reports.map { report in
                    .object([
                        "table": .string(report.table), "sqlite_rows": .integer(Int64(report.rows)),
                        "postgresql_rows": .integer(Int64(report.targetRows)), "sqlite_checksum": .string(report.sourceChecksum),
                        "postgresql_checksum": .string(report.targetChecksum), "same": .bool(report.matches)
                    ])
                })
        ]).serializedString
    }
}
