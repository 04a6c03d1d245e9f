import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryServer

/// The comparison `bin/migrate_store` ends with sees a value that differs, a row missing, and
/// agrees where the copy is whole (the end-to-end test moves a whole installation).
@Suite struct StoreMigrationTests {
    @Test func theComparisonSeesAChangedValueAndAMissingRow() async throws {
        let sandbox = try Sandbox()
        let source = try SQLiteStore(path: sandbox.path + "/source.sqlite")
        for number in 1...3 {
            _ = try await source.enroll(DeviceStoreContractTests.device(number, hostname: "h\(number)"), acceptUnlessFlagged: true)
            try await source.setParameter("user_email", value: "u\(number)@example.org", fingerprint: String(format: "%040X", number))
        }
        let database = try await PostgresTestDatabase()
        let migration = StoreMigration(source: source, target: try await PostgresStore(pool: try database.open()))
        let reports = try await migration.run()
        let differing = reports.filter { !$0.matches }.map(\.table)
        #expect(differing.isEmpty, "\(differing)")
        #expect(reports.first { $0.table == "devices" }?.rows == 3)

        try await StoreBackend.execute("UPDATE devices SET hostname = 'h9' WHERE hostname = 'h2'", on: migration.target)
        try await StoreBackend.execute("DELETE FROM client_parameters WHERE value = 'u3@example.org'", on: migration.target)
        let after = try await migration.compare()
        #expect(after.filter { !$0.matches }.map(\.table) == ["devices", "client_parameters"])
        #expect(after.first { $0.table == "client_parameters" }.map { ($0.rows, $0.targetRows) } ?? (0, 0) == (3, 2))
        try await database.drop()
    }
}
