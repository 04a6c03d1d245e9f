import Foundation
import RookeryCore
import Testing

/// `rookery issues` and `rookery client-parameters` as an admin types them: the real binary on a
/// sandboxed install root (ROOKERY_HOME), exit codes and messages included.
@Suite struct IssuesCommandEndToEndTests {
    static let repository = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func everyCommandHasHelp() throws {
        let sandbox = try Sandbox()
        let root = try installRoot(sandbox)
        let commands: [[String]] =
            [["issues"]]
            + ["audit", "snooze", "unsnooze", "suspend", "unsuspend", "open", "close", "list", "history", "check", "trend", "except", "unexcept", "exceptions"]
            .map { ["issues", $0] }
            + [
                ["client-parameters"], ["client-parameters", "ls"], ["client-parameters", "set"],
                ["client-parameters", "unset"]
            ]
        for command in commands {
            let help = try runBinary("rookery", command + ["--help"], root: root.root)
            #expect(help.status == 0, "\(command): \(help.stderr)")
            #expect(help.stdout.contains("USAGE:"), "\(command): \(help.stdout)")
        }
    }

    @Test func anAuditOfAnEmptyFleetPrintsNothing() throws {
        let sandbox = try Sandbox()
        let root = try installRoot(sandbox)
        for flags in [[], ["--cron"], ["--full"]] {
            let audit = try root.admin(["issues", "audit"] + flags)
            #expect(audit.status == 0, "\(flags): \(audit.stderr)")
            #expect(audit.stdout.isEmpty, "\(flags): \(audit.stdout)")
            #expect(audit.stderr.isEmpty, "\(flags): \(audit.stderr)")
        }
        let json = try root.admin(["issues", "audit", "--json"])
        #expect(json.status == 0)
        #expect(try JSONValue.parse(Data(json.stdout.utf8)) == .array([]))
        let list = try root.admin(["issues", "list", "--json"])
        #expect(list.status == 0, "\(list.stderr)")
    }

    @Test func aBrokenChecksFileIsAUsageErrorNamingItsLine() throws {
        let sandbox = try Sandbox()
        let root = try installRoot(
            sandbox,
            checks: """
                checks:
                  - name: sshd-passwords
                    description: sshd accepts passwords
                    condition:
                      path: plugins.sshd.password_authentication
                      equals: true
                    grace_period: 1d
                """)
        for command in [["issues", "audit"], ["issues", "audit", "--cron"], ["issues", "list"]] {
            let ran = try root.admin(command)
            #expect(ran.status == 64, "\(command): \(ran.stdout) \(ran.stderr)")
            #expect(ran.stderr.contains("issues.yml:7"), "\(command): \(ran.stderr)")
            #expect(ran.stderr.contains("grace_period"), "\(command): \(ran.stderr)")
            #expect(ran.stdout.isEmpty)
        }
    }

    @Test func unknownHostsAndSelectorsAreRefused() throws {
        let sandbox = try Sandbox()
        let root = try installRoot(sandbox)
        for command in [
            ["issues", "close", "nosuch-host", "not-reporting"], ["issues", "open", "nosuch-host", "not-reporting"],
            ["issues", "suspend", "nosuch-host"], ["issues", "history", "nosuch-host"],
            ["client-parameters", "ls", "nosuch-host"],
            ["client-parameters", "set", "nosuch-host", "user_email", "a@example.com"]
        ] {
            let ran = try root.admin(command)
            #expect(ran.status == 4, "\(command): \(ran.stderr)")
            #expect(ran.stderr.contains("nosuch-host"), "\(command): \(ran.stderr)")
        }
        let listed = try root.admin(["issues", "list", "--issue-name", "no-such-check"])
        #expect(listed.status == 4)
        #expect(listed.stderr.contains("no-such-check"), "\(listed.stderr)")

        let snooze = try root.admin(["issues", "snooze"])
        #expect(snooze.status == 65, "\(snooze.stderr)")
        #expect(snooze.stderr.contains("--all"), "\(snooze.stderr)")
        // A snooze of no time is refused, saying what to give; a zero part beside a positive one is not.
        for lengths in [["--days", "0"], ["--days", "0", "--hours", "0"], ["--hours", "-1"], ["--days", "3651"]] {
            let refused = try root.admin(["issues", "snooze", "--all"] + lengths)
            #expect(refused.status == 64, "\(lengths): \(refused.stderr)")
            #expect(refused.stderr.contains("--hours"), "\(lengths): \(refused.stderr)")
        }
        for lengths in [["--days", "0", "--hours", "6"], ["--hours", "0", "--days", "2"], ["--hours", "6"], []] {
            let snoozed = try root.admin(["issues", "snooze", "--all"] + lengths)
            #expect(snoozed.status == 0, "\(lengths): \(snoozed.stderr)")
            #expect(snoozed.stdout.hasPrefix("snoozed 0 issues until"), "\(lengths): \(snoozed.stdout)")
        }

        let check = try root.admin(["issues", "check", "not-reporting"])
        #expect(check.status == 64, "\(check.stderr)")
        #expect(check.stderr.contains("--dry-run"), "\(check.stderr)")
        let unknownCheck = try root.admin(["issues", "check", "no-such-check", "--dry-run"])
        #expect(unknownCheck.status == 4, "\(unknownCheck.stderr)")
        #expect(unknownCheck.stderr.contains("no-such-check"))
    }

    /// A device submits through the real client; the audit finds its issue, mails nothing without
    /// --email, and the admin commands handle it by hostname.
    @Test func aRealDevicesIssueThroughTheCommands() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        // The counter plugin every test client carries reports n >= 1: a check that always fails.
        try sandbox.write(
            counterSeenChecks("remediation: Remove the counter plugin.") + """
                  - name: not-reporting
                    description: The device has not reported
                    computed: not-reporting
                    after: 2d

                """, to: "srv/server/issues.yml")
        try server.start()
        let client = try server.acceptedClient(sandbox: sandbox, name: "c1", collections: 1)
        let submitted = try client.run("submit")
        #expect(submitted.status == 0, "\(submitted.stdout) \(submitted.stderr)")
        #expect(server.terminate(within: 10))

        // --json lists the device with its issue.
        let audit = try server.admin(["issues", "audit", "--json"])
        #expect(audit.status == 0, "\(audit.stderr)")
        let report = try JSONValue.parse(Data(audit.stdout.utf8))
        guard case .array(let devices) = report, devices.count == 1 else {
            Issue.record("expected one device: \(audit.stdout)")
            return
        }
        #expect(devices[0]["hostname"] == .string("c1"))
        guard case .array(let issues)? = devices[0]["issues"] else {
            Issue.record("no issues: \(audit.stdout)")
            return
        }
        #expect(issues.map { $0["name"] } == [.string("counter-seen")])
        #expect(issues.first?["status"] == .string("due"))
        #expect(issues.first?["remediation"] == .string("Remove the counter plugin."))
        #expect(try server.count("SELECT count(*) FROM issues WHERE closed_at IS NULL") == 1)

        // Text, and then cron: alerted once, then quiet.
        let text = try server.admin(["issues", "audit"])
        #expect(text.stdout.contains("c1") && text.stdout.contains("counter-seen"), "\(text.stdout)")
        let cron = try server.admin(["issues", "audit", "--cron"])
        #expect(cron.status == 0)
        #expect(cron.stdout.contains("counter-seen"))
        #expect(try server.admin(["issues", "audit", "--cron"]).stdout.isEmpty)

        // --email without a mail server configured: a settings problem, exit 64.
        let email = try server.admin(["issues", "audit", "--email"])
        #expect(email.status == 64, "\(email.stderr)")
        #expect(email.stderr.contains("smtp"), "\(email.stderr)")

        // Unknown check names are named; so are invalid parameters.
        for command in [["issues", "close", "c1", "no-such-check"], ["issues", "open", "c1", "no-such-check"]] {
            let ran = try server.admin(command)
            #expect(ran.status == 4, "\(command): \(ran.stderr)")
            #expect(ran.stderr.contains("no-such-check"), "\(command): \(ran.stderr)")
        }
        let badEmail = try server.admin(["client-parameters", "set", "c1", "user_email", "bad"])
        #expect(badEmail.status == 65, "\(badEmail.stderr)")
        #expect(badEmail.stderr.contains("user_email"), "\(badEmail.stderr)")
        let badName = try server.admin(["client-parameters", "set", "c1", "owner", "x@example.com"])
        #expect(badName.status == 65)
        #expect(badName.stderr.contains("owner"))
        let goodEmail = try server.admin(["client-parameters", "set", "c1", "user_email", "owner@example.com"])
        #expect(goodEmail.status == 0, "\(goodEmail.stderr)")
        #expect(try server.admin(["client-parameters", "ls", "c1"]).stdout.contains("user_email: owner@example.com"))

        // Unsnoozing counts the snoozes it ended, not the open issues.
        let nothingSnoozed = try server.admin(["issues", "unsnooze", "--all"])
        #expect(nothingSnoozed.status == 0, "\(nothingSnoozed.stderr)")
        #expect(nothingSnoozed.stdout == "no snoozed issue matched; nothing changed\n", "\(nothingSnoozed.stdout)")
        let snoozed = try server.admin(["issues", "snooze", "--host", "c1", "--days", "0", "--hours", "6"])
        #expect(snoozed.status == 0, "\(snoozed.stderr)")
        #expect(snoozed.stdout.hasPrefix("snoozed 1 issue until"), "\(snoozed.stdout)")
        #expect(try server.admin(["issues", "unsnooze", "--all"]).stdout == "unsnoozed 1 issue\n")

        // Suspending is all or nothing: an unknown host among known ones changes no device.
        let typo = try server.admin(["issues", "suspend", "c1", "nosuch-host"])
        #expect(typo.status == 4, "\(typo.stderr)")
        #expect(typo.stderr.contains("nosuch-host") && typo.stderr.contains("no device was suspended"), "\(typo.stderr)")
        #expect(typo.stdout.isEmpty, "\(typo.stdout)")
        #expect(try server.count("SELECT count(*) FROM devices WHERE suspended_at IS NOT NULL") == 0)
        let suspended = try server.admin(["issues", "suspend", "c1"])
        #expect(suspended.status == 0 && suspended.stdout == "suspended c1 until it next reports\n", "\(suspended.stderr)")
        #expect(try server.count("SELECT count(*) FROM devices WHERE suspended_at IS NOT NULL") == 1)
        let untypo = try server.admin(["issues", "unsuspend", "nosuch-host", "c1"])
        #expect(untypo.status == 4 && untypo.stderr.contains("no device was unsuspended"), "\(untypo.stderr)")
        #expect(try server.count("SELECT count(*) FROM devices WHERE suspended_at IS NOT NULL") == 1)
        #expect(try server.admin(["issues", "unsuspend", "c1"]).status == 0)
        #expect(try server.count("SELECT count(*) FROM devices WHERE suspended_at IS NOT NULL") == 0)

        // Closed by hand: gone from the list and not reopened until the device sends new data.
        let close = try server.admin(["issues", "close", "c1", "counter-seen"])
        #expect(close.status == 0, "\(close.stderr)")
        #expect(try server.admin(["issues", "list", "--json"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        #expect(try server.admin(["issues", "audit"]).stdout.isEmpty)
        let again = try server.admin(["issues", "close", "c1", "counter-seen"])
        #expect(again.status == 4)
        #expect(again.stderr.contains("no open counter-seen"), "\(again.stderr)")

        // Opened by hand: listed at once.
        #expect(try server.admin(["issues", "open", "c1", "not-reporting"]).status == 0)
        let list = try server.admin(["issues", "list", "--json"])
        #expect(list.stdout.contains("not-reporting"), "\(list.stdout)")
        #expect(try server.admin(["issues", "open", "c1", "not-reporting"]).status == 5, "already open")

        // The dry run judges the stored document without opening anything.
        let dry = try server.admin(["issues", "check", "counter-seen", "--dry-run", "--json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.contains("c1"), "\(dry.stdout)")
        #expect(try server.count("SELECT count(*) FROM issues WHERE closed_at IS NULL AND name = 'counter-seen'") == 0)
    }

    // MARK: - Helpers

    /// A server install root with the shipped checks (or `checks`); no server runs.
    /// Each audit records the day's compliance; `issues trend` prints it, per check or for the
    /// fleet, and the day's last audit is the one that counts.
    @Test func trendPrintsWhatTheAuditsRecorded() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        try sandbox.write(counterSeenChecks(), to: "srv/server/issues.yml")
        try server.start()
        let before = try server.admin(["issues", "trend"])
        #expect(before.status == 0, "\(before.stderr)")
        #expect(before.stdout.contains("no audit recorded compliance in the last 30 days"), "\(before.stdout)")
        for name in ["t1", "t2"] {
            let client = try server.acceptedClient(sandbox: sandbox, name: name, collections: 1)
            #expect(try client.run("submit").status == 0)
            // The first audit sees one device, the second two: the day keeps the second's count.
            #expect(try server.admin(["issues", "audit"]).status == 0)
        }
        let today = ComplianceDayText.today
        let fleet = try server.admin(["issues", "trend", "--json"])
        #expect(fleet.status == 0, "\(fleet.stderr)")
        #expect(
            try JSONValue.parse(Data(fleet.stdout.utf8))
                == .array([.object(["day": .string(today), "passed": .integer(0), "failed": .integer(2), "unknown": .integer(0)])]))
        let check = try server.admin(["issues", "trend", "counter-seen", "--days", "7"])
        #expect(check.status == 0, "\(check.stderr)")
        let row = check.stdout.split(separator: "\n").last.map { $0.split(separator: " ").map(String.init) }
        #expect(row == [today, "0", "2", "0", "0.0%", String(repeating: "#", count: 30)], "\(check.stdout)")
        #expect(try server.admin(["issues", "trend", "no-such-check"]).status == 4)
        #expect(try server.admin(["issues", "trend", "--days", "0"]).status == 64)
    }

    @Test func exceptionsThroughTheCommands() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        try sandbox.write(counterSeenChecks(), to: "srv/server/issues.yml")
        try server.start()
        let client = try server.acceptedClient(sandbox: sandbox, name: "e1", collections: 1)
        #expect(try client.run("submit").status == 0)
        #expect(try server.admin(["issues", "audit"]).status == 0)
        #expect(try server.count("SELECT count(*) FROM issues WHERE closed_at IS NULL") == 1)

        let made = try server.admin(["issues", "except", "e1", "counter-seen", "--reason", "a test device", "--until", "2099-01-01"])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.contains("excepted counter-seen on e1 until 2099-01-01T00:00:00Z"), "\(made.stdout)")
        let listed = try JSONValue.parse(Data(try server.admin(["issues", "exceptions", "--json"]).stdout.utf8))
        #expect(listed.arrayValue?.first?["reason"] == .string("a test device"))
        #expect(listed.arrayValue?.first?["until"] == .string("2099-01-01T00:00:00Z"))
        let full = try server.admin(["issues", "audit", "--full"])
        #expect(full.stdout.contains("The counter plugin reported [excepted]") && full.stdout.contains("a test device"), "\(full.stdout)")
        #expect(try server.count("SELECT count(*) FROM issues WHERE closed_at IS NULL") == 0)
        #expect(try server.count("SELECT count(*) FROM issues WHERE close_reason = 'excepted'") == 1)

        for (arguments, status) in [
            (["e1", "counter-seen", "--reason", "r", "--until", "next week"], 64),
            (["e1", "counter-seen", "--reason", "r", "--until", "2001-01-01"], 65),
            (["e1", "counter-seen", "--reason", "  ", "--until", "2099-01-01"], 65),
            (["nobody", "counter-seen", "--reason", "r", "--until", "2099-01-01"], 4),
            (["e1", "no-such-check", "--reason", "r", "--until", "2099-01-01"], 4)
        ] {
            let refused = try server.admin(["issues", "except"] + arguments)
            #expect(refused.status == Int32(status), "\(arguments): \(refused.stdout) \(refused.stderr)")
        }
        #expect(try server.admin(["issues", "unexcept", "e1", "counter-seen"]).status == 0)
        #expect(try server.admin(["issues", "unexcept", "e1", "counter-seen"]).status == 4)
        #expect(try server.admin(["issues", "exceptions"]).stdout.contains("no exceptions"))
        #expect(try server.admin(["issues", "audit"]).status == 0)
        #expect(try server.count("SELECT count(*) FROM issues WHERE closed_at IS NULL") == 1, "the check counts again")
    }

    private func installRoot(_ sandbox: Sandbox, checks: String? = nil) throws -> ServerProcess {
        let server = try ServerProcess(sandbox: sandbox)
        let text = try checks ?? String(contentsOfFile: Self.repository.path + "/server/issues.yml", encoding: .utf8)
        try sandbox.write(text, to: "srv/server/issues.yml")
        return server
    }
}

/// Today's date as the audit records it (UTC).
enum ComplianceDayText {
    static var today: String { String(RFC3339.string(from: Date()).prefix(10)) }
}
