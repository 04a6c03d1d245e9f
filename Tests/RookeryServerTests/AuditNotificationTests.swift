import Foundation
import HummingbirdTesting
import RookeryCore
import Testing

@testable import RookeryServer

/// What the issues audit tells people: owner mail through a real SMTP listener on 127.0.0.1 and
/// webhook POSTs to a real HTTP receiver, for devices that enrolled and submitted signed
/// documents through the real router. The audit's clock is given explicitly.
@Suite struct AuditNotificationTests {
    let sandbox: Sandbox
    let smtp: SMTPListener
    let hook: HTTPReceiver
    let context: ServerContext
    let shipped: CheckCatalog
    /// Two devices of Alice's, one of Bob's, and Carol's, who has no user_email.
    let aliceLaptop: TestDevice, aliceDesktop: TestDevice, bob: TestDevice, carol: TestDevice

    static let repository = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let sender = "rookery@example.org"

    /// Fails the shipped sshd-password-authentication check.
    static let sshdPasswords: [String: JSONValue] = [
        "sshd": .object(["running": .bool(true), "password_authentication": .bool(true)])
    ]
    /// Fails sshd-password-authentication and guest-session-enabled.
    static let sshdPasswordsAndGuest: [String: JSONValue] = sshdPasswords.merging([
        "guest_session": .object(["enabled": .bool(true)])
    ]) { $1 }
    /// Passes both.
    static let clean: [String: JSONValue] = [
        "sshd": .object(["running": .bool(true), "password_authentication": .bool(false)]),
        "guest_session": .object(["enabled": .bool(false)])
    ]

    init() async throws {
        sandbox = try Sandbox()
        smtp = try SMTPListener()
        hook = try HTTPReceiver()
        let smtpPort = smtp.port
        let hookURL = hook.url + "audit"
        context = try await makeServerContext(sandbox) { settings in
            settings.audit.smtp.host = "127.0.0.1"
            settings.audit.smtp.port = smtpPort
            settings.audit.smtp.security = "none"
            settings.audit.smtp.from = Self.sender
            settings.audit.webhook = hookURL
        }
        shipped = try CheckCatalog.load(path: Self.repository.appendingPathComponent("server/issues.yml").path)
        aliceLaptop = try TestDevice(sandbox, name: "al", host: "alice-laptop")
        aliceDesktop = try TestDevice(sandbox, name: "ad", host: "alice-desktop")
        bob = try TestDevice(sandbox, name: "bob")
        carol = try TestDevice(sandbox, name: "carol")
    }

    // MARK: - Mail

    @Test func eachOwnerGetsOneMailListingEveryIssueOnEveryDeviceAndOnlyOnce() async throws {
        try await enrollAndSubmit([
            (aliceLaptop, Self.sshdPasswordsAndGuest), (aliceDesktop, Self.sshdPasswords),
            (bob, Self.sshdPasswords), (carol, Self.sshdPasswords)
        ])
        try await setOwners()
        let now = Date().addingTimeInterval(60)

        var report = ""
        let outcome = try await IssuesAudit(context: context.admin, catalog: shipped)
            .run(.init(cron: true, email: true, now: now)) { report += $0 }
        #expect(outcome.failures.isEmpty, "\(outcome.failures)")
        #expect(outcome.summary.due == 5)
        #expect(outcome.mails == 2)
        let mails = smtp.waitForMessages(count: 2)
        #expect(mails.count == 2)
        #expect(
            mails.map(\.recipients).sorted { $0.joined() < $1.joined() } == [["alice@example.com"], ["bob@example.com"]],
            "one mail per owner; Carol has no user_email")
        #expect(mails.allSatisfy { $0.from == Self.sender })

        let alice = try #require(mails.first { $0.recipients == ["alice@example.com"] })
        let aliceMail = MailText(alice.data)
        #expect(aliceMail.header("To") == "alice@example.com")
        #expect(aliceMail.header("From") == Self.sender)
        #expect(aliceMail.header("Subject") == "Rookery: 3 issues on your devices")
        for host in ["alice-laptop", "alice-desktop"] { #expect(aliceMail.body.contains(host + "\n")) }
        for name in ["sshd-password-authentication", "guest-session-enabled"] {
            let check = try #require(shipped.check(named: name))
            let remediation = try #require(check.remediation)
            #expect(aliceMail.body.contains("  - " + check.description), "\(name) in \(aliceMail.body)")
            #expect(aliceMail.body.contains("    What to do: " + remediation), "\(name) in \(aliceMail.body)")
        }
        // The laptop's block lists both of its issues; the desktop's only the sshd one.
        let desktopBlock = try #require(
            aliceMail.body.components(separatedBy: "alice-desktop\n").last?
                .components(separatedBy: "\n\n").first)
        #expect(desktopBlock.contains("sshd accepts passwords"))
        #expect(!desktopBlock.contains("guest session"))
        #expect(!aliceMail.body.contains("bob") && !aliceMail.body.contains("carol"), "no one else's devices")

        let bobMail = MailText(try #require(mails.first { $0.recipients == ["bob@example.com"] }).data)
        #expect(bobMail.header("Subject") == "Rookery: 1 issue on bob")
        #expect(bobMail.body.contains("sshd accepts passwords"))
        #expect(!bobMail.body.contains("guest session"))
        #expect(!bobMail.body.contains("alice"))

        // The printed report (what cron mails the admin) still shows Carol's device.
        #expect(report.contains("carol"))
        #expect(report.contains("alice-laptop") && report.contains("owner alice@example.com"))

        // The same run again at the same moment: everything was alerted, so nothing is sent or printed.
        var again = ""
        let second = try await IssuesAudit(context: context.admin, catalog: shipped)
            .run(.init(cron: true, email: true, now: now)) { again += $0 }
        #expect(second.mails == 0)
        #expect(second.webhooks == 0)
        #expect(second.failures.isEmpty)
        #expect(again.isEmpty, "\(again)")
        #expect(smtp.messages.count == 2)
        #expect(smtp.connectionCount == 2)
    }

    @Test func anUnreachableMailServerIsReportedPerOwnerAndTheRunStillCompletes() async throws {
        try await enrollAndSubmit([(aliceLaptop, Self.sshdPasswords), (bob, Self.sshdPasswords)])
        try await setOwners()
        let dead = try SMTPListener()
        let deadPort = dead.port
        dead.stop()
        let settings = modified(context.settings) {
            $0.audit.smtp.port = deadPort
            $0.audit.webhook = ""
        }
        let offline = try await ServerContext(root: context.root, settings: settings)

        var report = ""
        let outcome = try await IssuesAudit(context: offline.admin, catalog: shipped)
            .run(.init(cron: true, email: true, now: Date().addingTimeInterval(60))) { report += $0 }
        #expect(outcome.failures.count == 2, "\(outcome.failures)")
        #expect(outcome.failures.contains { $0.hasPrefix("mail to alice@example.com:") }, "\(outcome.failures)")
        #expect(outcome.failures.contains { $0.hasPrefix("mail to bob@example.com:") }, "\(outcome.failures)")
        #expect(report.contains("alice-laptop") && report.contains("bob"), "the report is written: \(report)")
        #expect(report.contains("sshd-password-authentication"))
        #expect(outcome.summary.opened == 2)
        #expect(try await context.store.openIssues(fingerprint: nil).count == 2)
        #expect(smtp.connectionCount == 0)
    }

    @Test func emailWithoutAMailServerIsRefusedBeforeAnythingChanges() async throws {
        try await enrollAndSubmit([(aliceLaptop, Self.sshdPasswords)])
        try await setOwners()
        for change in [
            { (s: inout ServerSettings) in s.audit.smtp.host = "" },
            { (s: inout ServerSettings) in s.audit.smtp.from = "" },
            { (s: inout ServerSettings) in s.audit.smtp.security = "ssl" }
        ] {
            let unready = try await ServerContext(root: context.root, settings: modified(context.settings, change))
            var written = false
            // A settings problem (the command exits 64), found before the audit touches anything.
            await #expect(throws: SettingsError.self) {
                _ = try await IssuesAudit(context: unready.admin, catalog: shipped)
                    .run(.init(cron: true, email: true, now: Date().addingTimeInterval(60))) { _ in written = true }
            }
            #expect(!written)
        }
        #expect(try await context.store.openIssues(fingerprint: nil).isEmpty, "no issue was opened")
        #expect(smtp.connectionCount == 0)
        #expect(hook.connectionCount == 0)
    }

    @Test func nothingDueWritesNothingAndSendsNothing() async throws {
        // Bob's firewall is off, but firewall-inactive has a day's grace: opened, not yet due.
        var bobs = Self.clean
        bobs["firewall"] = .object(["active": .bool(false)])
        try await enrollAndSubmit([(aliceLaptop, Self.clean), (bob, bobs)])
        try await setOwners()
        let now = Date().addingTimeInterval(60)
        for cron in [true, false] {
            var calls = 0
            let outcome = try await IssuesAudit(context: context.admin, catalog: shipped)
                .run(.init(cron: cron, email: true, now: now)) { _ in calls += 1 }
            #expect(calls == 0, "cron \(cron): the write closure was called")
            #expect(outcome.mails == 0)
            #expect(outcome.webhooks == 0)
        }
        #expect(try await context.store.openIssues(fingerprint: bob.fingerprint).map(\.name) == ["firewall-inactive"])
        #expect(smtp.connectionCount == 0)
        #expect(hook.connectionCount == 0)

        // A day and a bit later the firewall issue is due: now there is something to say.
        var later = ""
        let due = try await IssuesAudit(context: context.admin, catalog: shipped)
            .run(.init(cron: true, email: true, now: now.addingTimeInterval(86_400 + 60))) { later += $0 }
        #expect(later.contains("firewall-inactive"))
        #expect(due.mails == 1)
        #expect(smtp.waitForMessages(count: 1).map(\.recipients) == [["bob@example.com"]])
    }

    // MARK: - Webhooks

    @Test func theWebhookGetsOneJSONPostPerDueAlertOnCronRunsOnly() async throws {
        try await enrollAndSubmit([
            (aliceLaptop, Self.sshdPasswordsAndGuest), (bob, Self.sshdPasswords),
            (carol, Self.clean)
        ])
        let now = Date().addingTimeInterval(60)

        // An interactive audit shows the issues but posts nothing.
        let interactive = try await IssuesAudit(context: context.admin, catalog: shipped).run(.init(now: now)) { _ in }
        #expect(interactive.webhooks == 0)
        #expect(hook.connectionCount == 0)

        let outcome = try await IssuesAudit(context: context.admin, catalog: shipped).run(.init(cron: true, now: now)) { _ in }
        #expect(outcome.failures.isEmpty, "\(outcome.failures)")
        #expect(outcome.webhooks == 3)
        #expect(outcome.mails == 0, "no --email, no mail")
        let requests = hook.waitForRequests(count: 3)
        #expect(requests.count == 3)
        var seen: [String] = []
        for request in requests {
            #expect(request.method == "POST")
            #expect(request.path == "/audit")
            #expect(request.headers["content-type"] == "application/json")
            let body = try JSONValue.parse(request.body)
            let host = try #require(body["hostname"]?.stringValue)
            let name = try #require(body["name"]?.stringValue)
            #expect(body["status"] == .string("due"))
            #expect(body["fingerprint"] == .string(host == "bob" ? bob.fingerprint : aliceLaptop.fingerprint))
            #expect(body["description"] == shipped.check(named: name).map { .string($0.description) })
            #expect(body["text"]?.stringValue?.hasPrefix(host + ": ") == true)
            seen.append(host + "/" + name)
        }
        #expect(
            seen.sorted() == [
                "alice-laptop/guest-session-enabled", "alice-laptop/sshd-password-authentication",
                "bob/sshd-password-authentication"
            ])

        // Alerted: the next cron run at the same moment posts nothing.
        let again = try await IssuesAudit(context: context.admin, catalog: shipped).run(.init(cron: true, now: now)) { _ in }
        #expect(again.webhooks == 0)
        #expect(hook.requests.count == 3)
        #expect(smtp.connectionCount == 0)
    }

    @Test func aChecksOwnWebhookGetsItsAlertsBesideTheGlobalOne() async throws {
        let perCheck = try HTTPReceiver()
        let catalog = try CheckCatalog.parse(
            """
            checks:
              - name: sshd-passwords
                description: sshd accepts passwords
                condition:
                  all:
                    - path: plugins.sshd.running
                      equals: true
                    - path: plugins.sshd.password_authentication
                      equals: true
                webhook: \(perCheck.url)sshd?token=s3cret
                remediation: Use keys.
              - name: guest
                description: A guest session is offered
                condition:
                  path: plugins.guest_session.enabled
                  equals: true
            """, source: "test-issues.yml")
        try await enrollAndSubmit([
            (aliceLaptop, Self.sshdPasswordsAndGuest), (bob, Self.sshdPasswords),
            (carol, ["guest_session": .object(["enabled": .bool(true)])])
        ])

        let outcome = try await IssuesAudit(context: context.admin, catalog: catalog)
            .run(.init(cron: true, now: Date().addingTimeInterval(60))) { _ in }
        #expect(outcome.failures.isEmpty, "\(outcome.failures)")
        #expect(outcome.webhooks == 4 + 2, "four alerts to the global hook, the two sshd ones also to the check's")
        let global = hook.waitForRequests(count: 4)
        let own = perCheck.waitForRequests(count: 2)
        #expect(global.count == 4)
        #expect(own.count == 2)
        #expect(own.allSatisfy { $0.path == "/sshd?token=s3cret" })
        let ownAlerts = try own.map { request -> String in
            let body = try JSONValue.parse(request.body)
            #expect(body["status"] == .string("due"))
            #expect(body["remediation"] == .string("Use keys."))
            return (body["hostname"]?.stringValue ?? "?") + "/" + (body["name"]?.stringValue ?? "?")
        }
        #expect(ownAlerts.sorted() == ["alice-laptop/sshd-passwords", "bob/sshd-passwords"])
        let globalAlerts = try global.map { request -> String in
            let body = try JSONValue.parse(request.body)
            return (body["hostname"]?.stringValue ?? "?") + "/" + (body["name"]?.stringValue ?? "?")
        }
        #expect(
            globalAlerts.sorted() == [
                "alice-laptop/guest", "alice-laptop/sshd-passwords", "bob/sshd-passwords",
                "carol/guest"
            ])
    }

    @Test func aFailingWebhookIsReportedWithoutItsToken() async throws {
        let refusing = try HTTPReceiver(status: 500)
        let settings = modified(context.settings) { $0.audit.webhook = refusing.url + "hook/TOKEN123?key=SECRET" }
        let failing = try await ServerContext(root: context.root, settings: settings)
        try await enrollAndSubmit([(bob, Self.sshdPasswords)])
        let outcome = try await IssuesAudit(context: failing.admin, catalog: shipped)
            .run(.init(cron: true, now: Date().addingTimeInterval(60))) { _ in }
        #expect(refusing.waitForRequests(count: 1).count == 1)
        #expect(outcome.failures.count == 1)
        let failure = try #require(outcome.failures.first)
        #expect(failure.contains("HTTP 500"), "\(failure)")
        #expect(!failure.contains("TOKEN123") && !failure.contains("SECRET"), "\(failure)")
    }

    @Test func anUnreachableWebhookIsReportedWithoutItsToken() async throws {
        // A receiver that is gone: its port refuses connections.
        let gone = try HTTPReceiver()
        let url = gone.url + "hook/TOKEN123?key=SECRET"
        gone.stop()
        let settings = modified(context.settings) { $0.audit.webhook = url }
        try await enrollAndSubmit([(bob, Self.sshdPasswords)])
        let outcome = try await IssuesAudit(
            context: try AdminContext(root: context.root, settings: settings),
            catalog: shipped
        ).run(.init(cron: true, now: Date().addingTimeInterval(60))) { _ in }
        let failure = try #require(outcome.failures.first)
        #expect(failure.contains("127.0.0.1"), "\(failure)")
        #expect(!failure.contains("TOKEN123") && !failure.contains("SECRET"), "\(failure)")
    }

    // MARK: - Helpers

    /// Enrolls each device through the router, accepts it, and submits its plugins as one signed document.
    func enrollAndSubmit(_ fleet: [(TestDevice, [String: JSONValue])]) async throws {
        try await withServer(context, accepting: fleet.map(\.0)) { client in
            for (device, plugins) in fleet {
                let submitted = try await post(client, try device.sign(.submit, TestDevice.submitFields(plugins: plugins)))
                #expect(submitted.status == .ok)
            }
        }
    }

    /// Alice owns both of hers, Bob his; Carol has no user_email. Devices not enrolled are skipped.
    func setOwners() async throws {
        let parameters = ClientParameters(store: context.store)
        for (device, owner) in [
            (aliceLaptop, "alice@example.com"), (aliceDesktop, "alice@example.com"),
            (bob, "bob@example.com")
        ] {
            guard try await context.store.device(fingerprint: device.fingerprint) != nil else { continue }
            _ = try await parameters.set(device.host, "user_email", values: [owner])
        }
    }
}

/// A value changed by `change`.
private func modified<T>(_ value: T, _ change: (inout T) -> Void) -> T {
    var copy = value
    change(&copy)
    return copy
}

/// A received mail split into headers and its quoted-printable body, decoded.
private struct MailText {
    let headers: [(String, String)]
    let body: String

    init(_ data: String) {
        let parts = data.components(separatedBy: "\r\n\r\n")
        var headers: [(String, String)] = []
        for line in (parts.first ?? "").components(separatedBy: "\r\n") {
            if line.hasPrefix(" ") || line.hasPrefix("\t"), let last = headers.popLast() {
                headers.append((last.0, last.1 + line.trimmingCharacters(in: .whitespaces)))
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
        }
        self.headers = headers
        body = Self.decodeQuotedPrintable(parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }

    /// Soft breaks joined, =XX decoded, CRLF made LF.
    static func decodeQuotedPrintable(_ text: String) -> String {
        let joined = text.replacingOccurrences(of: "=\r\n", with: "")
        var bytes: [UInt8] = []
        var utf8 = Array(joined.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "="), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
    }
}
