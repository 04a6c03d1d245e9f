import Foundation
import RookeryCore
import Testing

@testable import RookeryServer

/// The shipped checks on what a device reports of its managed state: drift of its firewall
/// table, and parts it refused or failed.
@Suite struct ManagedChecksTests {
    static func verdict(_ check: String, _ managed: String) throws -> Verdict {
        let path = CheckCatalogTests.repoRoot.appendingPathComponent("server/issues.yml").path
        let shipped = try #require(try CheckCatalog.load(path: path).check(named: check))
        let document = try JSONValue.parse(Data(#"{"plugins": {}, "managed": \#(managed)}"#.utf8))
        return CheckEvaluatorTests.evaluate(shipped, CheckEvaluatorTests.subject(document: document)).verdict
    }

    @Test func aDriftedTableFailsTheDriftCheck() throws {
        #expect(try Self.verdict("managed-firewall-drift", #"{"firewall_live": {"state": "drifted", "reason": "x"}}"#) == .holds)
        #expect(try Self.verdict("managed-firewall-drift", #"{"firewall_live": {"state": "matches"}}"#) == .clear)
        #expect(try Self.verdict("managed-firewall-drift", #"{"firewall_live": {"state": "not_managed"}}"#) == .clear)
        #expect(try Self.verdict("managed-firewall-drift", #"{}"#) == .unknown)
    }

    @Test func aRefusedOrFailedPartFailsTheNotTakenCheck() throws {
        let check = "managed-state-not-taken"
        #expect(try Self.verdict(check, #"{"firewall": {"status": "failed", "reason": "x", "rolled_back": true}}"#) == .holds)
        #expect(try Self.verdict(check, #"{"settings": {"status": "refused", "refused": {}}}"#) == .holds)
        #expect(
            try Self.verdict(check, #"{"authorized_keys": {"deploy": {"status": "written"}, "root": {"status": "refused", "reason": "x"}}}"#)
                == .holds)
        #expect(
            try Self.verdict(
                check, #"{"firewall": {"status": "applied"}, "settings": {"status": "adopted"}, "authorized_keys": {"deploy": {"status": "unchanged"}}}"#)
                == .clear)
        #expect(try Self.verdict(check, #"{"authorized_keys": {"status": "refused", "reason": "manage_ssh_keys: false"}}"#) == .holds)
        #expect(try Self.verdict(check, #"{}"#) == .clear)
    }
}
