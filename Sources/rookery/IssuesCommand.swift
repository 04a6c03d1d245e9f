import ArgumentParser
import Foundation
import RookeryCore
import RookeryServer

struct IssuesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issues", abstract: "The issues audit: find devices out of policy, and manage their issues.",
        discussion: """
            Checks live in server/issues.yml (see docs/issues.md). An issue opens when a check first \
            fails on a device (as of the submission that showed it), is reported once its grace \
            period has passed, again every alert_every, and closes by itself when the check passes.
            HOST is a hostname or a fingerprint (a unique prefix of 8 or more hex digits works); \
            NAME is a check name from issues.yml.
            Exit codes: 0 done, 1 failure (including undelivered mail or webhooks), 4 no such HOST, \
            check or open issue, 5 an issue already open, 64 usage error or settings/issues.yml that \
            cannot be used, 65 a value refused (an ambiguous HOST, no --host/--issue-name/--all).
            """,
        subcommands: [
            Audit.self, Snooze.self, Unsnooze.self, Suspend.self, Unsuspend.self, Open.self, Close.self,
            List.self, History.self, Check.self, Trend.self, Except.self, Unexcept.self, Exceptions.self
        ])

    struct Audit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the audit and print what needs attention.",
            discussion: """
                Opens and closes issues as the stored data says, then prints the open issues past \
                their grace period, grouped by device, after the server's own findings (certificates \
                that expire soon). Prints nothing when there is nothing to say. \
                Run hourly from cron with --cron (server-setup.sh installs that line). --json prints \
                an array of devices with their issues, after the server's own findings.
                """)
        @Flag(help: "Print only alerts due now, and record them as sent (cron mails what this prints); post webhooks.")
        var cron = false
        @Flag(help: "Show everything: issues in grace, snoozed, on suspended hosts, and checks that cannot tell.")
        var full = false
        @OptionGroup var output: OutputOptions
        @Flag(help: "Mail each device's owner (client parameter user_email) about their device's issues.")
        var email = false

        func run() async throws {
            let audit = try await openAudit()
            let options = IssuesAudit.Options(cron: cron, full: full, json: output.json, email: email)
            // print, not FileHandle.write: a closed pipe (`| head`) must end the program
            // quietly (SIGPIPE), not crash it.
            let outcome = try await audit.run(options) { print($0, terminator: "") }
            for failure in outcome.failures { printError(failure) }
            if !outcome.failures.isEmpty { throw ExitCode(.failed) }
        }
    }

    struct Snooze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop reporting open issues for a while.",
            discussion: """
                Say which: --host or --group, --issue-name (these narrow), or --all. The length is \
                --days plus --hours (either may be 0 beside the other); with neither, 1 day.
                """)
        @Option(help: "Snooze for this many days (0 to 3650).") var days: Int?
        @Option(help: "Snooze for this many hours (0 to 87600).") var hours: Int?
        @Flag(help: "Every open issue.") var all = false
        @Option(help: "Only this device's issues.") var host: String?
        @Option(help: "Only the issues of this group's members (bin/groups).") var group: String?
        @Option(name: .customLong("issue-name"), help: "Only issues of this check.") var issueName: String?

        func validate() throws {
            guard (0...3650).contains(days ?? 0), (0...87_600).contains(hours ?? 0) else {
                throw ValidationError("--days must be 0 to 3650 and --hours 0 to 87600")
            }
            // A zero part beside a positive one is fine (--days 0 --hours 6); a snooze of no time is not.
            if days != nil || hours != nil, (days ?? 0) + (hours ?? 0) == 0 {
                throw ValidationError("a snooze of no time: give --days or --hours (at least one of them 1 or more), or neither for one day")
            }
        }

        func run() async throws {
            let seconds = TimeInterval((days ?? 0) * 86_400 + (hours ?? 0) * 3600)
            let until = Date().addingTimeInterval(days == nil && hours == nil ? 86_400 : seconds)
            let admin = try await openIssueAdmin()
            let count = try await admin.snooze(until: until, host: host, group: group, name: issueName, all: all)
            print("snoozed \(count) issue\(count == 1 ? "" : "s") until \(AuditReport.humanTime(until))")
        }
    }

    struct Unsnooze: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report snoozed issues again.",
            discussion: "Say which: --host or --group, --issue-name (these narrow), or --all. Counts only the snoozes it ended.")
        @Flag(help: "Every snoozed issue.") var all = false
        @Option(help: "Only this device's issues.") var host: String?
        @Option(help: "Only the issues of this group's members (bin/groups).") var group: String?
        @Option(name: .customLong("issue-name"), help: "Only issues of this check.") var issueName: String?

        func run() async throws {
            let admin = try await openIssueAdmin()
            let count = try await admin.unsnooze(host: host, group: group, name: issueName, all: all)
            print(
                count == 0
                    ? "no snoozed issue matched; nothing changed"
                    : "unsnoozed \(count) issue\(count == 1 ? "" : "s")")
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hide a device's issues until it next reports (a laptop away for repair).",
            discussion: "All or nothing: every HOST and --group is checked first, and when one is unknown or ambiguous no device is suspended.")
        @Argument(help: "Hostnames or fingerprints.") var hosts: [String] = []
        @Option(help: "Every accepted or pending member of this group too; repeat for several.") var group: [String] = []

        func run() async throws {
            let admin = try await openIssueAdmin()
            let devices = try await admin.suspend(hosts, groups: group)
            for device in devices { print("suspended \(device.hostname) until it next reports") }
        }
    }

    struct Unsuspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a suspended device's issues again.",
            discussion: "All or nothing: every HOST and --group is checked first, and when one is unknown or ambiguous no device is unsuspended.")
        @Argument(help: "Hostnames or fingerprints.") var hosts: [String] = []
        @Option(help: "Every accepted or pending member of this group too; repeat for several.") var group: [String] = []

        func run() async throws {
            let admin = try await openIssueAdmin()
            let devices = try await admin.unsuspend(hosts, groups: group)
            for device in devices { print("unsuspended \(device.hostname)") }
        }
    }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open an issue by hand.",
            discussion: "It is reported at once and stays open until the device sends new data; then the check decides.")
        @Argument(help: "Hostname or fingerprint.") var host: String
        @Argument(help: "Check name from issues.yml.") var name: String

        func run() async throws {
            let admin = try await openIssueAdmin()
            let device = try await admin.open(host, name: name)
            print("opened \(name) on \(device.hostname)")
        }
    }

    struct Close: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Close an open issue by hand.",
            discussion: "The audit does not reopen it until the device sends new data that still fails the check.")
        @Argument(help: "Hostname or fingerprint.") var host: String
        @Argument(help: "Check name from issues.yml.") var name: String

        func run() async throws {
            let admin = try await openIssueAdmin()
            let device = try await admin.close(host, name: name)
            print("closed \(name) on \(device.hostname)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List open issues (as of the last audit).")
        @Option(help: "Only this device's issues.") var host: String?
        @Option(name: .customLong("issue-name"), help: "Only issues of this check.") var issueName: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let admin = try await openIssueAdmin()
            let found = try await admin.list(host: host, name: issueName)
            print(output.json ? IssueFormatter.json(found) : IssueFormatter.table(found, now: Date()))
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A device's issues, open and closed, newest first.")
        @Argument(help: "Hostname or fingerprint.") var host: String
        @Option(help: "How many to show.") var limit = 50
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let admin = try await openIssueAdmin()
            let (device, issues) = try await admin.history(host, limit: limit)
            let pairs = issues.map { (device: device, issue: $0) }
            print(output.json ? IssueFormatter.json(pairs) : IssueFormatter.history(device, issues))
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Try a check against every stored document without opening anything.",
            discussion: """
                Lists the devices that would fail NAME now, and those it cannot judge. Use --file to \
                try a new or changed check from another file before putting it in server/issues.yml.
                """)
        @Argument(help: "Check name.") var name: String
        @Flag(name: .customLong("dry-run"), help: "Required: this command never changes anything.") var dryRun = false
        @Option(help: "Read checks from this file instead of server/issues.yml.") var file: String?
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard dryRun else { throw ValidationError("check only runs with --dry-run (it never opens issues)") }
        }

        func run() async throws {
            let context = try await openAdminContext()
            let catalog = try CheckCatalog.load(
                path: file.map { ($0 as NSString).expandingTildeInPath }
                    ?? context.root.resolve(context.settings.audit.issuesFile))
            let admin = IssueAdmin(store: context.store, catalog: catalog)
            let found = try await admin.dryRun(catalog.check(named: admin.checkName(name))!)
            print(output.json ? IssueFormatter.json(found) : IssueFormatter.dryRun(found, check: name))
        }
    }
}

extension IssuesCommand {
    struct Trend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compliance per day: how many devices passed, failed, or could not be told.",
            discussion: """
                Each audit records, per device check and per day (UTC), how many accepted devices passed, \
                failed (in a grace period, snoozed or suspended too) and were unknown; a later audit the same \
                day replaces that day. Without NAME, the fleet as a whole: a device passes when it fails no \
                check. The dashboard's charts show the same numbers (docs/dashboard.md).
                """)
        @Argument(help: "Check name (default: every check at once).") var name: String?
        @Option(help: "Days back, today included (1-366).") var days = 30
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard (1...366).contains(days) else { throw ValidationError("--days must be 1 to 366") }
        }

        func run() async throws {
            let trend = try await openIssueAdmin().trend(name, days: days)
            print(output.json ? IssueFormatter.json(trend) : IssueFormatter.trend(trend, check: name, days: days))
        }
    }
}

extension IssuesCommand {
    struct Except: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Accept a check as not applicable to a device, until a date.",
            discussion: """
                Until --until the audit opens no issue of NAME on HOST and closes the open one (reason \
                excepted); `issues audit --full` and the dashboard show the exception, who made it and why. \
                Once it ends, the check counts again: a device still failing it gets a new issue at the next \
                audit. A new exception of the same HOST and NAME ends the running one. Who made it is this \
                command's user (and SUDO_USER). With --group G and NAME alone, every accepted or pending \
                member of G gets the exception (the members of now: a device joining later does not).
                """)
        @Argument(help: "HOST NAME: a hostname or fingerprint and a check name; with --group, NAME alone.")
        var arguments: [String]
        @Option(help: "Every accepted or pending member of this group instead of one HOST.") var group: String?
        @Option(help: "Why the check does not apply (one line, at most 1000 bytes).") var reason: String
        @Option(help: "When it ends: YYYY-MM-DD (as that day starts, UTC) or an RFC 3339 time.") var until: String

        func validate() throws {
            guard arguments.count == (group == nil ? 2 : 1) else {
                throw ValidationError(group == nil ? "give HOST and NAME (or --group G and NAME)" : "with --group, give NAME alone")
            }
        }

        func run() async throws {
            guard let end = ExceptionDate.parse(until) else {
                throw ValidationError("--until \(until): write YYYY-MM-DD or an RFC 3339 time (2027-03-01T12:00:00Z)")
            }
            let admin = try await openIssueAdmin()
            let made =
                if let group {
                    try await admin.except(group: group, arguments[0], reason: reason, until: end, by: .current())
                } else {
                    [try await admin.except(arguments[0], arguments[1], reason: reason, until: end, by: .current())]
                }
            for (device, exception) in made {
                print(
                    "excepted \(exception.check) on \(device.hostname) until \(RFC3339.string(from: exception.until)) "
                        + "(by \(exception.createdBy)); the next audit closes its open issue")
            }
        }
    }

    struct Unexcept: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "End a device's exception of a check now; the next audit judges the check again.")
        @Argument(help: "Hostname or fingerprint.") var host: String
        @Argument(help: "Check name.") var name: String

        func run() async throws {
            let device = try await openIssueAdmin().unexcept(host, name)
            print("ended the exception of \(name) on \(device.hostname)")
        }
    }

    struct Exceptions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the exceptions that run (with --ended, every one kept).")
        @Option(help: "Only this device's.") var host: String?
        @Flag(help: "Also those that ended.") var ended = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let found = try await openIssueAdmin().exceptions(host, ended: ended)
            print(output.json ? IssueFormatter.json(found) : IssueFormatter.exceptions(found, now: Date()))
        }
    }
}

/// `--until`: a day (the exception ends as it starts, UTC) or an RFC 3339 time.
enum ExceptionDate {
    static func parse(_ text: String) -> Date? {
        if text.count == 10, let day = RFC3339.date(from: text + "T00:00:00Z") { return day }
        return RFC3339.date(from: text)
    }
}

private func openIssueAdmin() async throws -> IssueAdmin {
    let context = try await openAdminContext()
    return IssueAdmin(store: context.store, catalog: try CheckCatalog.load(path: context.root.resolve(context.settings.audit.issuesFile)))
}

private func openAudit() async throws -> IssuesAudit {
    let context = try await openAdminContext()
    // A business_hours that cannot be used stops IssuesAudit.run before it changes anything (exit 64).
    return try IssuesAudit(context: context, catalog: CheckCatalog.load(path: context.root.resolve(context.settings.audit.issuesFile)))
}
