import Foundation
import HummingbirdTesting
import RookeryCore
import Testing

@testable import RookeryServer

/// `bin/client_parameters`: user_email and user_clients over the real SQLite store, for devices
/// that enrolled through the router; and what the links mean to the not-reporting check.
@Suite struct ClientParametersTests {
    let sandbox: Sandbox
    let context: ServerContext
    let parameters: ClientParameters
    let a: TestDevice, b: TestDevice, c: TestDevice

    static let repository = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    init() async throws {
        sandbox = try Sandbox()
        context = try await makeServerContext(sandbox)
        parameters = ClientParameters(store: context.store)
        a = try TestDevice(sandbox, name: "a", host: "host-a")
        b = try TestDevice(sandbox, name: "b", host: "host-b")
        c = try TestDevice(sandbox, name: "c", host: "host-c")
    }

    // MARK: - user_email

    @Test func userEmailIsSetListedReplacedAndUnset() async throws {
        try await enroll([a, b])
        #expect(try await parameters.list("host-a").1.isEmpty)
        let device = try await parameters.set("host-a", "user_email", values: ["alice@example.com"])
        #expect(device.fingerprint == a.fingerprint)
        #expect(try await parameters.list("host-a").1 == ["user_email": ["alice@example.com"]])
        #expect(try await parameters.list("host-b").1.isEmpty, "only host-a's")
        // By fingerprint, and a second set replaces the first.
        _ = try await parameters.set(a.fingerprint, "user_email", values: ["alice@other.example"])
        #expect(try await parameters.list("host-a").1 == ["user_email": ["alice@other.example"]])
        #expect(try await context.store.parameters(fingerprint: a.fingerprint) == ["user_email": "alice@other.example"])
        _ = try await parameters.unset("host-a", "user_email", values: [])
        #expect(try await parameters.list("host-a").1.isEmpty)
        // Unsetting what is not set is harmless.
        _ = try await parameters.unset("host-a", "user_email", values: [])
    }

    @Test func implausibleAddressesAreRefusedAndChangeNothing() async throws {
        try await enroll([a])
        for address in [
            "a", "a@b", "x@y.z\r\nBcc: evil@x.y", "", "@example.com", "alice@", "alice@.example",
            "a@b@example.com", "alice smith@example.com", "alice@example.com,eve@example.com",
            "<alice@example.com>", "alice@exam\u{7F}ple.com"
        ] {
            _ = try await parameters.set("host-a", "user_email", values: ["alice@example.com"])
            await #expect(throws: AdminError.self, "\(address.debugDescription)") {
                _ = try await parameters.set("host-a", "user_email", values: [address])
            }
            #expect(try await parameters.list("host-a").1 == ["user_email": ["alice@example.com"]])
        }
    }

    /// Addresses the mailer would refuse at every `--email` run must be refused when set, not
    /// accepted and then fail the audit hourly.
    @Test func addressesTheMailerWouldRefuseAreRefused() async throws {
        try await enroll([a])
        for address in [
            "alice@example.com.", "alice@exa..mple.com", "élise@example.com", "alice@exa_mple.com",
            "al\"ice@example.com", "alice(x)@example.com", "alice@example.com;", "alice@ex\u{2028}ample.com",
            "a:b@example.com", "alice@host"
        ] {
            await #expect(throws: AdminError.self, "\(address.debugDescription)") {
                _ = try await parameters.set("host-a", "user_email", values: [address])
            }
            #expect(try await parameters.list("host-a").1.isEmpty)
        }
    }

    @Test func ordinaryAddressesAreAccepted() async throws {
        try await enroll([a])
        for address in [
            "alice@example.com", "a.b+audit@mail.example.org", "o'brien@example.ie", "x@y.z",
            "it-team@sub-domain.example.com"
        ] {
            _ = try await parameters.set("host-a", "user_email", values: [address])
            #expect(try await parameters.list("host-a").1 == ["user_email": [address]])
        }
    }

    @Test func userEmailTakesExactlyOneAddress() async throws {
        try await enroll([a])
        for values in [[], ["alice@example.com", "bob@example.com"]] {
            await #expect(throws: AdminError.self, "\(values)") {
                _ = try await parameters.set("host-a", "user_email", values: values)
            }
        }
        #expect(try await parameters.list("host-a").1.isEmpty)
    }

    @Test func unknownParametersAndHostsAreRefused() async throws {
        try await enroll([a])
        for name in ["owner", "user_emails", "USER_EMAIL", ""] {
            // A value refused (exit 65), not a device not found.
            await #expect { _ = try await parameters.set("host-a", name, values: ["alice@example.com"]) } throws: { error in
                ErrorKind(of: error) == .input && "\(error)".contains("unknown parameter") && "\(error)".contains("user_email, user_clients")
            }
            await #expect(throws: AdminError.self) { _ = try await parameters.unset("host-a", name, values: []) }
        }
        await #expect { _ = try await parameters.set("nosuch", "user_email", values: ["a@example.com"]) } throws: { error in
            ErrorKind(of: error) == .notFound && "\(error)".contains("nosuch")
        }
        await #expect(throws: AdminError.self) { _ = try await parameters.list("nosuch") }
        #expect(try await context.store.parameters(fingerprint: a.fingerprint).isEmpty)
    }

    // MARK: - user_clients

    @Test func linksAreSymmetricAndLinkTheWholeList() async throws {
        try await enroll([a, b, c])
        _ = try await parameters.set("host-a", "user_clients", values: ["host-b", "host-c"])
        #expect(try await linked("host-a") == ["host-b", "host-c"])
        #expect(try await linked("host-b") == ["host-a", "host-c"])
        #expect(try await linked("host-c") == ["host-a", "host-b"])
        // Linking again is harmless.
        _ = try await parameters.set("host-b", "user_clients", values: ["host-a"])
        #expect(try await context.store.links(fingerprint: b.fingerprint).count == 2)
    }

    @Test func unlinkingOnePairKeepsTheOtherLinks() async throws {
        try await enroll([a, b, c])
        _ = try await parameters.set("host-a", "user_clients", values: ["host-b", "host-c"])
        _ = try await parameters.unset("host-a", "user_clients", values: ["host-b"])
        #expect(try await linked("host-a") == ["host-c"])
        #expect(try await linked("host-b") == ["host-c"])
        #expect(try await linked("host-c") == ["host-a", "host-b"])
        // Without names: all of A's links go; B and C stay linked with each other.
        _ = try await parameters.unset("host-a", "user_clients", values: [])
        #expect(try await linked("host-a") == [])
        #expect(try await linked("host-b") == ["host-c"])
        #expect(try await linked("host-c") == ["host-b"])
    }

    @Test func aDeviceCannotBeLinkedToItself() async throws {
        try await enroll([a, b])
        for values in [["host-a"], [a.fingerprint], [String(a.fingerprint.prefix(12))], ["host-b", "host-a"]] {
            await #expect { _ = try await parameters.set("host-a", "user_clients", values: values) } throws: { error in
                error is AdminError && "\(error)".contains("itself")
            }
        }
        await #expect(throws: AdminError.self) { _ = try await parameters.set("host-a", "user_clients", values: []) }
        await #expect(throws: AdminError.self) { _ = try await parameters.set("host-a", "user_clients", values: ["nosuch"]) }
        #expect(try await context.store.links(fingerprint: a.fingerprint).isEmpty, "nothing half linked")
        #expect(try await context.store.links(fingerprint: b.fingerprint).isEmpty)
    }

    // MARK: - What the audit makes of links

    /// A is linked to B; C is not linked. All three report once now; only B reports again later.
    /// The router stamps submissions with the real time, so B's later reports go straight to the
    /// store with the time they would have arrived.
    @Test func aLinkedDeviceStaysClearWhileItsPartnerReportsForAtMost31Days() async throws {
        try await enroll([a, b, c], submit: true)
        _ = try await parameters.set("host-a", "user_clients", values: ["host-b"])
        let catalog = try CheckCatalog.load(path: Self.repository.appendingPathComponent("server/issues.yml").path)
        let t0 = try #require(try await context.store.device(fingerprint: a.fingerprint)?.lastSubmissionAt)
        let day: TimeInterval = 86_400

        func notReporting(at now: Date) async throws -> [String] {
            var report = ""
            _ = try await IssuesAudit(context: context.admin, catalog: catalog).run(.init(now: now)) { report += $0 }
            var hosts: [String] = []
            for issue in try await context.store.openIssues(fingerprint: nil) where issue.name == "not-reporting" {
                hosts.append(try await context.store.device(fingerprint: issue.fingerprint)?.hostname ?? "?")
            }
            return hosts.sorted()
        }

        // Within the 2 days nobody is late.
        #expect(try await notReporting(at: t0.addingTimeInterval(day)) == [])
        // Three days on, B reported a day ago: A stays clear; C, unlinked, is late.
        try await report(b, at: t0.addingTimeInterval(2 * day))
        #expect(try await notReporting(at: t0.addingTimeInterval(3 * day)) == ["host-c"])
        // B goes silent too: after 2 days of silence from both, A and B are late.
        #expect(try await notReporting(at: t0.addingTimeInterval(4 * day + 60)) == ["host-a", "host-b", "host-c"])
        // B reports again: B's issue closes and A is covered again.
        try await report(b, at: t0.addingTimeInterval(5 * day))
        #expect(try await notReporting(at: t0.addingTimeInterval(5 * day + 60)) == ["host-c"])
        // But no longer than 31 days: after 32 days of silence A is late although B reported yesterday.
        try await report(b, at: t0.addingTimeInterval(29 * day))
        #expect(try await notReporting(at: t0.addingTimeInterval(30 * day)) == ["host-c"])
        try await report(b, at: t0.addingTimeInterval(31 * day))
        #expect(try await notReporting(at: t0.addingTimeInterval(32 * day)) == ["host-a", "host-c"])
        let issue = try #require(try await context.store.openIssues(fingerprint: a.fingerprint).first)
        #expect(issue.detail.contains("last report"))
    }

    @Test func unlinkedDevicesNoLongerCoverForEachOther() async throws {
        try await enroll([a, b], submit: true)
        _ = try await parameters.set("host-a", "user_clients", values: ["host-b"])
        _ = try await parameters.unset("host-b", "user_clients", values: ["host-a"])
        let t0 = try #require(try await context.store.device(fingerprint: a.fingerprint)?.lastSubmissionAt)
        try await report(b, at: t0.addingTimeInterval(2 * 86_400))
        let catalog = try CheckCatalog.load(path: Self.repository.appendingPathComponent("server/issues.yml").path)
        _ = try await AuditEngine(catalog: catalog, store: context.store).run(.init(now: t0.addingTimeInterval(3 * 86_400)))
        #expect(try await context.store.openIssues(fingerprint: a.fingerprint).map(\.name) == ["not-reporting"])
        #expect(try await context.store.openIssues(fingerprint: b.fingerprint).isEmpty)
    }

    // MARK: - Helpers

    func linked(_ host: String) async throws -> [String] {
        try await parameters.list(host).1["user_clients"] ?? []
    }

    /// Enrolls the devices through the router and accepts them; with `submit`, each sends one document.
    func enroll(_ devices: [TestDevice], submit: Bool = false) async throws {
        try await withServer(context, accepting: devices) { client async throws in
            guard submit else { return }
            for device in devices {
                let fields = TestDevice.submitFields(plugins: ["sshd": .object(["running": .bool(false)])])
                #expect(try await post(client, try device.sign(.submit, fields)).status == .ok)
            }
        }
    }

    /// A report from `device` as the store records it when one arrives at `at`.
    func report(_ device: TestDevice, at: Date) async throws {
        let outcome = try await context.store.store(
            Submission(
                fingerprint: device.fingerprint, submissionID: UUID().uuidString,
                document: .object(["plugins": .object(["sshd": .object(["running": .bool(false)])])]), receivedAt: at))
        guard case .stored = outcome else {
            Issue.record("not stored: \(outcome)")
            return
        }
    }
}
