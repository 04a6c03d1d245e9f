import Foundation
import HummingbirdTesting
import RookeryCore
import Testing

@testable import RookeryServer

/// The issue lifecycle driven by real signed submissions over HTTP and real audits over the SQLite
/// store. The audit's clock is moved forward by hand; submissions happen at the real time.
@Suite struct AuditLifecycleTests {
    let sandbox: Sandbox
    let context: ServerContext
    let alice: TestDevice

    static let checks = """
        checks:
          - name: sshd-passwords
            description: sshd accepts passwords
            condition:
              path: plugins.sshd.password_authentication
              equals: true
            grace: 2h
            alert_every: 6h
            remediation: Set PasswordAuthentication no.
        """

    init() async throws {
        sandbox = try Sandbox()
        context = try await makeServerContext(sandbox)
        alice = try TestDevice(sandbox, name: "alice")
    }

    @Test func anIssueOpensWaitsOutItsGraceAlertsRepeatsAndCloses() async throws {
        let audit = try Auditor(context: context, yaml: Self.checks)
        try await withServer(context, accepting: [alice], over: .router) { client in
            try await submit(client, passwords: true)
            let t0 = try #require(try await lastSubmission())

            // Opened as of the submission, hidden in its grace period.
            var pass = try await audit.run(at: t0.addingTimeInterval(60), cron: true)
            #expect(pass.reported.isEmpty)
            #expect(pass.summary.opened == 1)
            let issue = try #require(try await context.store.openIssues(fingerprint: alice.fingerprint).first)
            #expect(issue.openedAt == t0)
            #expect(pass.statuses == ["alice/sshd-passwords": .grace])

            // Past the grace: reported once, then not again until alert_every has passed.
            pass = try await audit.run(at: t0.addingTimeInterval(2 * 3600 + 60), cron: true)
            #expect(pass.reported == ["alice/sshd-passwords"])
            pass = try await audit.run(at: t0.addingTimeInterval(3 * 3600), cron: true)
            #expect(pass.reported.isEmpty)
            #expect(pass.statuses == ["alice/sshd-passwords": .alerted])
            pass = try await audit.run(at: t0.addingTimeInterval(3 * 3600), cron: false)
            #expect(pass.reported == ["alice/sshd-passwords"], "an interactive audit shows what is active")
            pass = try await audit.run(at: t0.addingTimeInterval(8 * 3600 + 120), cron: true)
            #expect(pass.reported == ["alice/sshd-passwords"])

            // Fixed: the next submission closes it.
            try await submit(client, passwords: false)
            pass = try await audit.run(at: t0.addingTimeInterval(9 * 3600), cron: true)
            #expect(pass.summary.closed == 1)
            #expect(try await context.store.openIssues(fingerprint: alice.fingerprint).isEmpty)
            let history = try await context.store.issueHistory(fingerprint: alice.fingerprint, limit: 10)
            #expect(history.map(\.closeReason) == [.resolved])
        }
    }

    @Test func snoozingAndSuspendingHideAnIssueUntilTheyEnd() async throws {
        try await withOpenIssue { client, audit, admin, t0 in
            #expect(
                try await admin.snooze(
                    until: t0.addingTimeInterval(20 * 3600), host: "alice",
                    name: "sshd-passwords", all: false) == 1)
            var pass = try await audit.run(at: t0.addingTimeInterval(10 * 3600), cron: true)
            #expect(pass.reported.isEmpty)
            #expect(pass.statuses == ["alice/sshd-passwords": .snoozed])
            #expect(try await admin.unsnooze(host: nil, name: nil, all: true, now: t0.addingTimeInterval(10 * 3600)) == 1)
            pass = try await audit.run(at: t0.addingTimeInterval(11 * 3600), cron: true)
            #expect(pass.reported == ["alice/sshd-passwords"], "unsnoozed, it alerts")
            // Unsnoozing counts the snoozes it ended, not the open issues: none is left, and one
            // that already ran out hid nothing.
            #expect(try await admin.unsnooze(host: nil, name: nil, all: true, now: t0.addingTimeInterval(11 * 3600)) == 0)
            _ = try await admin.snooze(until: t0.addingTimeInterval(12 * 3600), host: "alice", name: nil, all: false)
            #expect(try await admin.unsnooze(host: "alice", name: nil, all: false, now: t0.addingTimeInterval(13 * 3600)) == 0)

            // Suspended: hidden even when due, until the device reports again.
            _ = try await admin.suspend(["alice"])
            pass = try await audit.run(at: t0.addingTimeInterval(30 * 3600), cron: true)
            #expect(pass.reported.isEmpty)
            #expect(pass.statuses == ["alice/sshd-passwords": .suspended])
            try await submit(client, passwords: true)
            pass = try await audit.run(at: t0.addingTimeInterval(31 * 3600), cron: true)
            #expect(pass.reported == ["alice/sshd-passwords"], "reporting again ends the suspension")
        }
    }

    /// duplicate-host, through the store's own query: which of hostname and machine id clash, with
    /// which accepted or pending keys (by fingerprint), never the machine id itself.
    @Test func duplicateHostSaysWhatClashesAndWithWhichKeys() async throws {
        func enroll(_ letter: Character, _ host: String, machine: String, _ state: DeviceState = .accepted) async throws -> String {
            let fingerprint = String(repeating: letter, count: 40)
            _ = try await context.store.enroll(
                Device(
                    fingerprint: fingerprint, publicKey: "k", hostname: host,
                    machineID: machine, state: .pending, enrolledAt: Date()),
                acceptUnlessFlagged: false)
            if state != .pending { try await context.store.setState(state, fingerprint: fingerprint, at: Date()) }
            return fingerprint
        }
        let first = try await enroll("A", "laptop-1", machine: "machine-secret-1")
        let renamed = try await enroll("B", "laptop-1", machine: "machine-secret-2", .pending)
        let cloned = try await enroll("C", "desk-3", machine: "machine-secret-1")
        _ = try await enroll("D", "spare", machine: "machine-secret-4")
        _ = try await enroll("E", "spare", machine: "machine-secret-4", .revoked)
        var crowd: [String] = []
        for letter in "56789" { crowd.append(try await enroll(letter, "crowd", machine: "machine-secret-\(letter)")) }

        let auditor = try Auditor(
            context: context,
            yaml: """
                checks:
                  - name: duplicate-host
                    description: another key uses this device's hostname or machine id
                    computed: duplicate-host
                """)
        let admin = IssueAdmin(store: context.store, catalog: auditor.catalog)
        let found = try await admin.dryRun(try #require(auditor.catalog.check(named: "duplicate-host")))
        let details = Dictionary(uniqueKeysWithValues: found.map { ($0.device.fingerprint, $0.evaluation.detail) })
        #expect(details[first] == "hostname laptop-1 is also used by key \(renamed); machine id is also used by key \(cloned) (desk-3)")
        #expect(details[cloned] == "machine id is also used by key \(first) (laptop-1)")
        #expect(details[String(repeating: "D", count: 40)] == nil, "a revoked key clashes with nothing")
        #expect(details[crowd[0]] == "hostname crowd is also used by keys \(crowd[1]), \(crowd[2]), \(crowd[3]) and more (see bin/clients list)")
        #expect(found.count == 2 + crowd.count)
        #expect(!details.values.contains { $0.contains("machine-secret") })
    }

    @Test func aManualCloseHoldsUntilNewDataAndAManualOpenLikewise() async throws {
        try await withOpenIssue { client, audit, admin, t0 in
            _ = try await admin.close("alice", name: "sshd-passwords")
            var pass = try await audit.run(at: t0.addingTimeInterval(3 * 3600), cron: true)
            #expect(pass.summary.opened == 0, "the same data does not reopen a closed issue")
            #expect(pass.statuses.isEmpty)
            try await submit(client, passwords: true)
            pass = try await audit.run(at: t0.addingTimeInterval(4 * 3600), cron: true)
            #expect(pass.summary.opened == 1, "new data that still fails opens it again")

            // Fixed, but an admin opens it by hand: it stays open, and is reported at once,
            // until the device sends new data.
            try await submit(client, passwords: false)
            _ = try await audit.run(at: t0.addingTimeInterval(5 * 3600), cron: true)
            _ = try await admin.open("alice", name: "sshd-passwords")
            pass = try await audit.run(at: t0.addingTimeInterval(6 * 3600), cron: true)
            #expect(pass.reported == ["alice/sshd-passwords"])
            try await submit(client, passwords: false)
            pass = try await audit.run(at: t0.addingTimeInterval(7 * 3600), cron: true)
            #expect(pass.summary.closed == 1)
            let reasons = try await context.store.issueHistory(fingerprint: alice.fingerprint, limit: 10).map(\.closeReason)
            #expect(reasons == [.resolved, .resolved, .manual])
        }
    }

    @Test func missingValuesCountAsEachCheckDeclares() async throws {
        let yaml = ["pass", "fail", "unknown"].map { policy in
            """
              - name: screen-\(policy)
                condition:
                  path: plugins.screenlock.enabled
                  equals: false
                missing: \(policy)
            """
        }.joined(separator: "\n")
        let audit = try Auditor(context: context, yaml: "checks:\n" + yaml)
        try await withServer(context, accepting: [alice], over: .router) { client in
            // The screenlock plugin failed: its whole output is "unknown".
            try await submit(client, plugins: ["screenlock": .string("unknown")])
            let t0 = try #require(try await lastSubmission())
            let pass = try await audit.run(at: t0.addingTimeInterval(60), cron: false, full: true)
            #expect(pass.statuses == ["alice/screen-fail": .due, "alice/screen-unknown": .unknown])
            #expect(try await context.store.openIssues(fingerprint: alice.fingerprint).map(\.name) == ["screen-fail"])
        }
    }

    /// One check on the serial under each missing policy: `equals` holds while the serial is ABC123.
    static let serialChecks =
        "checks:\n"
        + Check.MissingPolicy.allCases.map { policy in
            """
              - name: serial-\(policy)
                description: the known serial
                condition:
                  path: plugins.hardware.serial
                  equals: ABC123
                missing: \(policy)
                remediation: Replace the device.
            """
        }.joined(separator: "\n")
    static let serialIssues = Check.MissingPolicy.allCases.map { "serial-\($0)" }.sorted()
    static let secretSerial = JSONValue.object([
        "secret": .string(SecretEvaluationTests.ciphertext),
        "hash": .string(SecretEvaluationTests.hash)
    ])

    @Test func aSecretValueOpensNoIssueWhateverTheMissingPolicy() async throws {
        let audit = try Auditor(context: context, yaml: Self.serialChecks)
        try await withServer(context, accepting: [alice], over: .router) { client in
            try await submit(client, plugins: ["hardware": .object(["serial": Self.secretSerial])])
            let t0 = try #require(try await lastSubmission())
            let pass = try await audit.run(at: t0.addingTimeInterval(60), cron: false, full: true)
            #expect(pass.summary.opened == 0)
            #expect(try await context.store.openIssues(fingerprint: alice.fingerprint).isEmpty)
            for name in Self.serialIssues {
                #expect(pass.statuses["alice/\(name)"] == .unknown)
                #expect(pass.details["alice/\(name)"] == "not evaluable: plugins.hardware.serial is secret")
            }
            var text = ""
            _ = try await IssuesAudit(context: context.admin, catalog: audit.catalog)
                .run(.init(full: true, now: t0.addingTimeInterval(60))) { text += $0 }
            #expect(text.contains("serial-fail: the known serial [cannot tell]\n      not evaluable: plugins.hardware.serial is secret\n"))
            #expect(!text.contains(SecretEvaluationTests.ciphertext) && !text.contains(SecretEvaluationTests.hash))
        }
    }

    @Test func aValueThatTurnsSecretNeitherClosesNorReopensItsIssue() async throws {
        let audit = try Auditor(context: context, yaml: Self.serialChecks)
        try await withServer(context, accepting: [alice], over: .router) { client in
            try await submit(client, plugins: ["hardware": .object(["serial": .string("ABC123")])])
            let t0 = try #require(try await lastSubmission())
            let opened = try await audit.run(at: t0.addingTimeInterval(60), cron: false)
            #expect(opened.summary.opened == 3)
            try await submit(client, plugins: ["hardware": .object(["serial": Self.secretSerial])])
            let t1 = try #require(try await lastSubmission())
            // missing: pass would have closed one, missing: fail kept one open on the data.
            let after = try await audit.run(at: t1.addingTimeInterval(60), cron: false)
            #expect(after.summary.closed == 0 && after.summary.opened == 0)
            #expect(try await context.store.openIssues(fingerprint: alice.fingerprint).map(\.name).sorted() == Self.serialIssues)
        }
    }

    @Test func aSelectedPathIsNotEvaluableEvenInClear() async throws {
        // Stored in clear before its selector was added, and not yet encrypted in place.
        let audit = try Auditor(context: context, yaml: Self.serialChecks)
        try await withServer(context, accepting: [alice], over: .router) { client in
            try await submit(client, plugins: ["hardware": .object(["serial": .string("ABC123")])])
            try await context.store.changeSecretSelectors(
                adding: [try SecretSelector("plugins.hardware.serial")],
                removing: [], at: Date())
            let t0 = try #require(try await lastSubmission())
            let pass = try await audit.run(at: t0.addingTimeInterval(60), cron: false, full: true)
            #expect(pass.summary.opened == 0)
            #expect(pass.details["alice/serial-fail"] == "not evaluable: plugins.hardware.serial is secret")
            let admin = IssueAdmin(store: context.store, catalog: audit.catalog)
            let dryRun = try await admin.dryRun(try #require(audit.catalog.check(named: "serial-fail")), now: t0)
            #expect(dryRun.map(\.evaluation.verdict) == [.unknown])
        }
    }

    @Test func removingACheckFromIssuesYmlClosesItsIssues() async throws {
        try await withServer(context, accepting: [alice], over: .router) { client in
            try await submit(client, passwords: true)
            let t0 = try #require(try await lastSubmission())
            _ = try await Auditor(context: context, yaml: Self.checks).run(at: t0.addingTimeInterval(60), cron: true)
            let other = "checks:\n  - name: other\n    condition: {path: plugins.other.bad, equals: true}\n"
            let pass = try await Auditor(context: context, yaml: other).run(at: t0.addingTimeInterval(120), cron: true)
            #expect(pass.summary.closed == 1)
            let history = try await context.store.issueHistory(fingerprint: alice.fingerprint, limit: 10)
            #expect(history.map(\.closeReason) == [.checkRemoved])
        }
    }

    @Test func aDeviceOnADeprecatedPortHasAnIssueUntilItMoves() async throws {
        let audit = try Auditor(
            context: context,
            yaml: """
                checks:
                  - name: deprecated-port
                    computed: deprecated-port
                """)
        try await withServer(context, accepting: [alice], over: .router) { client in
            // Through the router: the server's one port, never deprecated.
            try await submit(client, passwords: false)
            let t0 = try #require(try await lastSubmission())
            var pass = try await audit.run(at: t0.addingTimeInterval(60), cron: true)
            #expect(pass.statuses.isEmpty)
            // Submissions as a deprecated listener and then a current one would hand them to the store.
            func store(on port: ServerPort) async throws {
                let submission = Submission(
                    fingerprint: alice.fingerprint, submissionID: UUID().uuidString,
                    document: .object(["plugins": .object([:])]), receivedAt: Date(), port: port)
                #expect(try await context.store.store(submission) == .stored)
            }
            try await store(on: ServerPort(number: 8443, deprecated: true))
            pass = try await audit.run(at: t0.addingTimeInterval(120), cron: true)
            #expect(pass.reported == ["alice/deprecated-port"])
            let issue = try #require(try await context.store.openIssues(fingerprint: alice.fingerprint).first)
            #expect(issue.detail.contains("8443"))
            try await store(on: ServerPort(number: 443))
            pass = try await audit.run(at: t0.addingTimeInterval(180), cron: true)
            #expect(pass.summary.closed == 1)
        }
    }

    // MARK: - Helpers

    func lastSubmission() async throws -> Date? {
        try await context.store.device(fingerprint: alice.fingerprint)?.lastSubmissionAt
    }

    func submit(_ client: some TestClientProtocol, passwords: Bool) async throws {
        try await submit(
            client,
            plugins: [
                "sshd": .object([
                    "running": .bool(true),
                    "password_authentication": .bool(passwords)
                ])
            ])
    }

    func submit(_ client: some TestClientProtocol, plugins: [String: JSONValue]) async throws {
        let response = try await post(client, try alice.sign(.submit, TestDevice.submitFields(plugins: plugins)))
        #expect(response.status == .ok)
    }

    /// Alice has just opened an sshd-passwords issue: submitted at t0, audited a minute later.
    func withOpenIssue(_ test: @escaping @Sendable (any TestClientProtocol, Auditor, IssueAdmin, Date) async throws -> Void)
        async throws
    {
        let audit = try Auditor(context: context, yaml: Self.checks)
        let admin = IssueAdmin(store: context.store, catalog: audit.catalog)
        try await withServer(context, accepting: [alice], over: .router) { client in
            try await submit(client, passwords: true)
            let t0 = try #require(try await lastSubmission())
            _ = try await audit.run(at: t0.addingTimeInterval(60), cron: true)
            try await test(client, audit, admin, t0)
        }
    }

}

/// Runs `IssuesAudit` with a given catalog at a given time and sums up what it printed.
struct Auditor {
    let context: ServerContext
    let catalog: CheckCatalog

    init(context: ServerContext, yaml: String) throws {
        self.context = context
        catalog = try CheckCatalog.parse(yaml, source: "test.yml")
    }

    struct Pass {
        var summary: AuditEngine.Summary
        /// "host/check" of every issue the report printed.
        var reported: [String]
        /// The detail the report printed for each of those.
        var details: [String: String]
        /// Every open or undecided check's status, as a --full report sees it.
        var statuses: [String: AuditStatus]
    }

    func run(at now: Date, cron: Bool, full: Bool = false) async throws -> Pass {
        var json = ""
        let outcome = try await IssuesAudit(context: context.admin, catalog: catalog)
            .run(.init(cron: cron, full: full, json: true, now: now)) { json += $0 }
        var statuses: [String: AuditStatus] = [:]
        // A second look at every status that changes nothing: the engine's per-device step, whose
        // changes are dropped.
        let engine = AuditEngine(
            catalog: catalog, store: context.store,
            secretSelectors: try await context.store.secretSelectors(),
            exceptions: ActiveExceptions(try await context.store.exceptions(fingerprint: nil, runningAt: now), at: now),
            membership: try await GroupMembership.load(from: context.store))
        try await engine.forEachBatch { batch in
            for subject in batch {
                let (audit, _) = engine.audit(subject, .init(now: now))
                for entry in audit.entries { statuses["\(audit.device.hostname)/\(entry.check)"] = entry.status }
            }
            return []
        }
        let devices = try JSONValue.parse(Data(json.utf8))
        guard case .array(let list) = devices else { throw AuditTestError.notAnArray(json) }
        let issues = list.flatMap { device -> [(String, String)] in
            guard case .array(let issues)? = device["issues"] else { return [] }
            return issues.compactMap { issue in
                guard let host = device["hostname"]?.stringValue, let name = issue["name"]?.stringValue else { return nil }
                return ("\(host)/\(name)", issue["detail"]?.stringValue ?? "")
            }
        }
        return Pass(
            summary: outcome.summary, reported: issues.map(\.0),
            details: Dictionary(issues, uniquingKeysWith: { first, _ in first }), statuses: statuses)
    }
}

enum AuditTestError: Error { case notAnArray(String) }
