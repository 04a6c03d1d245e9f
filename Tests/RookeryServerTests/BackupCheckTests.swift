import Foundation
import RookeryCore
import Testing

@testable import RookeryServer

/// The shipped `backup-stale` check, judged on what the backup plugin prints.
@Suite struct BackupCheckTests {
    static func shippedCheck() throws -> Check {
        let path = CheckCatalogTests.repoRoot.appendingPathComponent("server/issues.yml").path
        return try #require(try CheckCatalog.load(path: path).check(named: "backup-stale"))
    }

    /// The verdict of the shipped check, with its own `missing` policy, on a device whose backup
    /// plugin printed `backup`.
    static func verdict(_ backup: String) throws -> Verdict {
        let document = try JSONValue.parse(Data(#"{"plugins": {"backup": \#(backup)}}"#.utf8))
        return CheckEvaluatorTests.evaluate(try shippedCheck(), CheckEvaluatorTests.subject(document: document)).verdict
    }

    @Test func aBackupThreeDaysOldFails() throws {
        #expect(
            try Self.verdict(
                #"{"configured": true, "newest_success": "2025-06-12T15:00:00Z", "age_hours": 72, "sources": []}"#)
                == .holds)
    }

    @Test func aBackupTwoHoursOldPasses() throws {
        #expect(
            try Self.verdict(
                #"{"configured": true, "newest_success": "2025-06-15T13:00:00Z", "age_hours": 2, "sources": []}"#)
                == .clear)
    }

    @Test func theThresholdIsFortyEightHours() throws {
        #expect(try Self.verdict(#"{"configured": true, "age_hours": 48}"#) == .clear)
        #expect(try Self.verdict(#"{"configured": true, "age_hours": 48.1}"#) == .holds)
    }

    @Test func aDeviceWithoutBackupsIsNotJudged() throws {
        let unconfigured = #"{"configured": false, "sources": [], "newest_success": "unknown", "age_hours": "unknown"}"#
        #expect(try Self.verdict(unconfigured) == .unknown)
        // Configured, but no source could tell when it last succeeded.
        #expect(try Self.verdict(#"{"configured": true, "newest_success": "unknown", "age_hours": "unknown"}"#) == .unknown)
        // The plugin failed as a whole, or the client is too old to have it.
        #expect(try Self.verdict(#""unknown""#) == .unknown)
    }

    @Test func theCheckSaysWhatToDo() throws {
        let check = try Self.shippedCheck()
        #expect(check.missing == .unknown)
        #expect(!check.description.isEmpty)
        #expect(check.remediation?.isEmpty == false)
    }
}
