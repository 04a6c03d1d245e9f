import Foundation
import HummingbirdTesting
import RookeryCore
import Testing

@testable import RookeryServer

/// `bin/issues except`: a check accepted as not applicable to one device until a date, through
/// real submissions and real audits on both stores.
@Suite struct CheckExceptionTests {
    let sandbox: Sandbox
    let context: ServerContext
    let alice: TestDevice

    init() async throws {
        sandbox = try Sandbox()
        context = try await makeServerContext(sandbox)
        alice = try TestDevice(sandbox, name: "alice")
    }

    static let who = AdminOperator(user: "rookery", sudoUser: "carol")

    @Test func anExceptionClosesTheIssueKeepsItClosedAndItsEndReopensIt() async throws {
        let audit = try Auditor(context: context, yaml: AuditLifecycleTests.checks)
        let admin = IssueAdmin(store: context.store, catalog: audit.catalog)
        try await submitFailing()
        let t0 = Date()
        _ = try await audit.run(at: t0, cron: false)
        #expect(try await context.store.openIssues(fingerprint: alice.fingerprint).map(\.name) == ["sshd-passwords"])

        let until = t0.addingTimeInterval(7 * 86_400)
        let (_, exception) = try await admin.except(
            "alice", "sshd-passwords", reason: "lab machine, no network", until: until, by: Self.who, now: t0)
        #expect(exception.createdBy == "carol (as rookery)")

        // Running: the open issue is closed as excepted, no new one opens, --full shows why.
        var pass = try await audit.run(at: t0.addingTimeInterval(3600), cron: false, full: true)
        #expect(try await context.store.openIssues(fingerprint: alice.fingerprint).isEmpty)
        let closed = try await context.store.issueHistory(fingerprint: alice.fingerprint, limit: 10)
        #expect(closed.first?.closeReason == .excepted)
        #expect(pass.statuses == ["alice/sshd-passwords": .excepted])
        #expect(pass.details["alice/sshd-passwords"]?.contains("by carol (as rookery): lab machine, no network") == true)
        pass = try await audit.run(at: t0.addingTimeInterval(7200), cron: false)
        #expect(pass.summary.opened == 0)
        #expect(pass.reported.isEmpty)
        // The day's compliance counts the device as passing the check it is excepted from.
        let day = try await context.store.complianceTrend(check: "sshd-passwords", since: ComplianceDay.day(of: t0)).last
        #expect(day?.passed == 1 && day?.failed == 0)

        // Ended: the next audit opens a new issue, as the device still fails the check.
        pass = try await audit.run(at: until.addingTimeInterval(60), cron: false)
        #expect(pass.summary.opened == 1)
        #expect(try await context.store.openIssues(fingerprint: alice.fingerprint).map(\.name) == ["sshd-passwords"])
    }

    @Test func unexceptEndsItAtOnceAndTheDashboardShowsItWhileItRuns() async throws {
        let audit = try Auditor(context: context, yaml: AuditLifecycleTests.checks)
        let admin = IssueAdmin(store: context.store, catalog: audit.catalog)
        try await submitFailing()
        let now = Date()
        _ = try await admin.except("alice", "sshd-passwords", reason: "kiosk", until: now.addingTimeInterval(86_400), by: Self.who, now: now)
        _ = try await audit.run(at: now.addingTimeInterval(1), cron: false)
        #expect(try await context.store.openIssues(fingerprint: alice.fingerprint).isEmpty)

        let reader = FleetReader(store: context.store, releases: context.releases, issuesFile: "/nonexistent")
        let shown = try #require(try await reader.device(fingerprint: alice.fingerprint, now: now.addingTimeInterval(2)))
        #expect(shown.exceptions.map(\.reason) == ["kiosk"])
        #expect(try await reader.check("sshd-passwords", query: OpenIssueQuery(), now: now.addingTimeInterval(2))?.excepted.map(\.hostname) == ["alice"])

        let later = now.addingTimeInterval(10)
        _ = try await admin.unexcept("alice", "sshd-passwords", now: later)
        await #expect(throws: AdminError.self) { try await admin.unexcept("alice", "sshd-passwords", now: later) }
        #expect(try await admin.exceptions(nil, ended: false, now: later).isEmpty)
        #expect(try await admin.exceptions(nil, ended: true, now: later).count == 1)
        _ = try await audit.run(at: later.addingTimeInterval(1), cron: false)
        #expect(try await context.store.openIssues(fingerprint: alice.fingerprint).map(\.name) == ["sshd-passwords"])
    }

    /// Alice accepted, reporting sshd with password logins on: sshd-passwords fails.
    func submitFailing() async throws {
        let request = try alice.sign(
            .submit, TestDevice.submitFields(plugins: ["sshd": .object(["password_authentication": .bool(true)])]))
        try await withServer(context, accepting: [alice], over: .router) { client in
            let status = try await post(client, request).status
            #expect(status == .ok)
        }
    }

    @Test func whatAnExceptionNeedsIsChecked() async throws {
        let audit = try Auditor(context: context, yaml: AuditLifecycleTests.checks)
        let admin = IssueAdmin(store: context.store, catalog: audit.catalog)
        try await withServer(context, accepting: [alice], over: .router) { _ in }
        let now = Date()
        let later = now.addingTimeInterval(86_400)
        for (host, check, reason, until) in [
            ("alice", "sshd-passwords", "", later), ("alice", "sshd-passwords", "a\nb", later),
            ("alice", "sshd-passwords", String(repeating: "x", count: 1001), later),
            ("alice", "sshd-passwords", "past", now.addingTimeInterval(-1)), ("alice", "no-such-check", "why", later),
            ("nobody", "sshd-passwords", "why", later)
        ] {
            await #expect(throws: AdminError.self, "\(host) \(check) \(reason.prefix(10))") {
                try await admin.except(host, check, reason: reason, until: until, by: Self.who, now: now)
            }
        }
        #expect(try await admin.exceptions(nil, ended: true, now: now).isEmpty)
    }
}
