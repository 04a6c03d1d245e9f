import Foundation
import RookeryCore
import Testing

@testable import RookeryServer

/// The audit's expiring-certificate check over real certificate files in a sandboxed install root:
/// generated certificates for the TLS ports and the client CA, a real SQLite store, and the report
/// as `bin/issues audit` prints it. Certificates are made at t0; the audit's clock is given.
@Suite struct ExpiringCertificateTests {
    let sandbox: Sandbox
    let t0 = Date()
    /// When most audits run: an hour after the certificates were made.
    var soon: Date { t0.addingTimeInterval(3600) }

    /// With one device check: a catalog of server checks alone is refused (it would close every device issue).
    static let checks = """
        checks:
          - name: firewall-off
            description: The firewall is off
            condition: {path: plugins.firewall.active, equals: false}
          - name: expiring-certificate
            description: A server certificate expires soon
            computed: expiring-certificate
            alert_every: 1d
            remediation: Renew it.
        """

    init() throws { sandbox = try Sandbox() }

    // MARK: - What is reported

    @Test func aCertificateWithinFourteenDaysIsReportedAndOneSixtyDaysOutIsNot() async throws {
        let expiring = try certificate("rookery.example.com", days: 10, at: "server/tls/port-8443.pem")
        try certificate("later.example.com", days: 60, at: "server/tls/port-9443.pem")
        let context = try await serverContext(ports: [8443: "server/tls/port-8443.pem", 9443: "server/tls/port-9443.pem"])
        let expiry = AuditReport.humanTime(expiring.notValidAfter)
        #expect(
            try await audit(context) == """
                server
                  expiring-certificate: A server certificate expires soon
                      port 8443: \(expiring.subject) in server/tls/port-8443.pem expires \(expiry) (in 9 days)
                      fix: Renew it.

                """)
    }

    @Test func nothingIsPrintedWhenEveryCertificateHasTimeLeft() async throws {
        try certificate("later.example.com", days: 60, at: "server/tls/port-8443.pem")
        let context = try await serverContext(ports: [8443: "server/tls/port-8443.pem"])
        #expect(try await audit(context) == "")
        #expect(try await audit(context, json: true) == "[]\n")
    }

    @Test func anExpiredCertificateIsReportedWithHowLongAgo() async throws {
        let expired = try certificate(
            "old.example.com", days: 1, madeAt: t0.addingTimeInterval(-4 * 86_400),
            at: "server/tls/port-8443.pem")
        let context = try await serverContext(ports: [8443: "server/tls/port-8443.pem"])
        #expect(
            try await details(context) == [
                "port 8443: \(expired.subject) in server/tls/port-8443.pem expired "
                    + "\(AuditReport.humanTime(expired.notValidAfter)) (3 days ago)"
            ])
    }

    @Test func aFileThatCannotBeReadIsReported() async throws {
        try install("this is not a certificate\n", at: "server/tls/garbage.pem")
        let context = try await serverContext(ports: [8443: "server/tls/garbage.pem", 9443: "server/tls/missing.pem"])
        let found = try await details(context)
        #expect(found.count == 2, "\(found)")
        // The reader's own reasons, naming each file as the settings do.
        #expect(found.first?.hasPrefix("port 8443: server/tls/garbage.pem holds no ") == true, "\(found)")
        #expect(found.last == "port 9443: cannot read server/tls/missing.pem: no such file", "\(found)")
        #expect(!found.joined().contains(sandbox.path), "no absolute paths: \(found)")
    }

    @Test func theClientCAIsCheckedAndSaysDevicesPinIt() async throws {
        let ca = try certificate("ca.rookery.example", days: 5, at: "server/tls/client-ca.pem")
        let context = try await serverContext(ports: [:], clientCA: "server/tls/client-ca.pem")
        #expect(
            try await details(context) == [
                "client_ca_file server/tls/client-ca.pem: \(ca.subject) expires "
                    + "\(AuditReport.humanTime(ca.notValidAfter)) (in 4 days); devices pin it"
            ])
    }

    @Test func aChainIsAsGoodAsItsFirstCertificateToExpireAndASharedFileIsOneFinding() async throws {
        let leaf = try SelfSignedCertificate(hostnames: ["leaf.example.com"], validDays: 60, now: t0).certificatePEM
        let intermediate = try SelfSignedCertificate(hostnames: ["intermediate.example.com"], validDays: 7, now: t0)
            .certificatePEM
        try install(leaf + intermediate, at: "server/tls/chain.pem")
        let first = try #require(try CertificateInfo.parse(pem: intermediate, source: "intermediate").first)
        let context = try await serverContext(ports: [443: "server/tls/chain.pem", 8443: "server/tls/chain.pem"])
        #expect(
            try await details(context) == [
                "ports 443, 8443: \(first.subject) in server/tls/chain.pem expires "
                    + "\(AuditReport.humanTime(first.notValidAfter)) (in 6 days)"
            ])
    }

    @Test func afterWidensTheWindow() async throws {
        try certificate("rookery.example.com", days: 20, at: "server/tls/port-8443.pem")
        let context = try await serverContext(ports: [8443: "server/tls/port-8443.pem"])
        #expect(try await details(context).isEmpty, "20 days out is outside the default 14")
        let month = Self.checks + "\n    after: 30d"
        let found = try await details(context, month)
        #expect(found.count == 1)
        #expect(found.first?.hasSuffix("(in 19 days)") == true, "\(found)")
    }

    @Test func aCatalogOfServerChecksAloneIsRefusedBeforeAnythingChanges() async throws {
        try certificate("rookery.example.com", days: 5, at: "server/tls/port-8443.pem")
        let context = try await serverContext(ports: [8443: "server/tls/port-8443.pem"])
        let serverOnly = """
            checks:
              - name: expiring-certificate
                computed: expiring-certificate
            """
        let refusal = await #expect(throws: SettingsError.self) { try await audit(context, serverOnly, cron: true) }
        #expect(refusal?.description.contains("defines no checks of devices") == true, "\(String(describing: refusal))")
        #expect(!FileManager.default.fileExists(atPath: context.root.serverState + "/server-alerts.json"))
    }

    // MARK: - Alerts

    @Test func cronAlertsOnceThenAgainAfterAlertEvery() async throws {
        try certificate("rookery.example.com", days: 10, at: "server/tls/port-8443.pem")
        let context = try await serverContext(ports: [8443: "server/tls/port-8443.pem"])
        let stateFile = context.root.serverState + "/server-alerts.json"

        // By hand: shown as due, nothing recorded.
        #expect(try await issues(context, at: soon).map(\.status) == ["due"])
        #expect(!FileManager.default.fileExists(atPath: stateFile))

        let firstAlert = soon
        #expect(try await issues(context, at: firstAlert, cron: true).map(\.status) == ["due"])
        #expect(
            try await audit(context, at: firstAlert.addingTimeInterval(3600), cron: true) == "",
            "alerted an hour ago: cron stays quiet")
        let byHand = try await issues(context, at: firstAlert.addingTimeInterval(7200))
        #expect(byHand.map(\.status) == ["alerted"])
        #expect(byHand.first?.alertedAt == RFC3339.string(from: firstAlert))
        #expect(
            try await audit(context, at: firstAlert.addingTimeInterval(7200))
                .contains("expiring-certificate: A server certificate expires soon [alerted \(AuditReport.humanTime(firstAlert))]"))

        let secondAlert = firstAlert.addingTimeInterval(86_400)
        let again = try await issues(context, at: secondAlert, cron: true)
        #expect(again.map(\.status) == ["due"], "alert_every has passed")
        #expect(again.first?.alertedAt == RFC3339.string(from: firstAlert), "the previous alert")
        #expect(try alertLog(context).values.sorted() == [RFC3339.string(from: secondAlert)])
    }

    @Test func aRenewedCertificateIsANewFindingDueAtOnce() async throws {
        try certificate("rookery.example.com", days: 10, at: "server/tls/port-8443.pem")
        let context = try await serverContext(ports: [8443: "server/tls/port-8443.pem"])
        #expect(try await issues(context, at: soon, cron: true).map(\.status) == ["due"])
        let firstKeys = try alertLog(context).keys.sorted()

        // Renewed, but still within the window: a new expiry, so a new finding.
        try certificate("rookery.example.com", days: 12, at: "server/tls/port-8443.pem")
        let renewed = try await issues(context, at: soon.addingTimeInterval(60), cron: true)
        #expect(renewed.map(\.status) == ["due"])
        #expect(renewed.first?.alertedAt == nil)
        #expect(renewed.first?.detail.hasSuffix("(in 11 days)") == true)
        let renewedKeys = try alertLog(context).keys.sorted()
        #expect(renewedKeys.count == 1 && renewedKeys != firstKeys, "the old finding is dropped")

        // Renewed for long: nothing to report, nothing left in the log.
        try certificate("rookery.example.com", days: 90, at: "server/tls/port-8443.pem")
        #expect(try await audit(context, at: soon.addingTimeInterval(120), cron: true) == "")
        #expect(try alertLog(context).isEmpty)
    }

    @Test func dueFindingsArePostedToTheWebhookUnderCronOnly() async throws {
        let hook = try HTTPReceiver()
        try certificate("rookery.example.com", days: 10, at: "server/tls/port-8443.pem")
        let context = try await serverContext(ports: [8443: "server/tls/port-8443.pem"]) { $0.audit.webhook = hook.url + "audit" }

        var outcome = try await run(context, Self.checks, at: soon, cron: false).outcome
        #expect(outcome.webhooks == 0, "only cron posts")
        outcome = try await run(context, Self.checks, at: soon, cron: true).outcome
        #expect(outcome.webhooks == 1)
        #expect(outcome.failures.isEmpty, "\(outcome.failures)")
        let request = try #require(hook.waitForRequests(count: 1).first)
        let body = try JSONValue.parse(request.body)
        #expect(request.path == "/audit")
        #expect(body["server"] == .bool(true))
        #expect(body["name"] == .string("expiring-certificate"))
        #expect(body["hostname"] == nil)
        #expect(body["text"]?.stringValue?.hasPrefix("server: port 8443: ") == true, "\(body)")
        outcome = try await run(context, Self.checks, at: soon.addingTimeInterval(60), cron: true).outcome
        #expect(outcome.webhooks == 0, "alerted already")
    }

    // MARK: - The check and the devices

    @Test func theCatalogReadsTheCheckWithItsDefaultsAndRefusesGrace() throws {
        let catalog = try CheckCatalog.parse(
            Self.checks + """

                  - name: early-certificate
                    computed: expiring-certificate
                    after: 30d
                  - name: disk
                    condition: {path: plugins.disk.ok, equals: false}
                """, source: "test.yml")
        guard case .expiringCertificate(let after)? = catalog.check(named: "expiring-certificate")?.kind else {
            Issue.record("expiring-certificate is not read as its kind")
            return
        }
        #expect(after == 14 * 86_400)
        guard case .expiringCertificate(let early)? = catalog.check(named: "early-certificate")?.kind else {
            Issue.record("early-certificate is not read as its kind")
            return
        }
        #expect(early == 30 * 86_400)
        #expect(catalog.serverChecks.map(\.name) == ["expiring-certificate", "early-certificate"])
        #expect(catalog.deviceChecks.map(\.name) == ["firewall-off", "disk"])

        let graceError = #expect(throws: SettingsError.self) {
            try CheckCatalog.parse(Self.checks + "\n    grace: 1d", source: "test.yml")
        }
        #expect(
            graceError?.description.hasPrefix("test.yml:10: grace does not apply to expiring-certificate") == true,
            "\(String(describing: graceError))")

        let shipped = try CheckCatalog.load(path: AuditNotificationTests.repository.appendingPathComponent("server/issues.yml").path)
        let check = try #require(shipped.check(named: "expiring-certificate"))
        guard case .expiringCertificate(let shippedAfter) = check.kind else {
            Issue.record("shipped kind")
            return
        }
        #expect(shippedAfter == 14 * 86_400 && check.alertEvery == 86_400)
        #expect(check.remediation?.contains("docs/certificates.md") == true)
    }

    @Test func devicesNeverGetAnIssueForItWhileTheirOwnChecksRun() async throws {
        try certificate("old.example.com", days: 1, madeAt: t0.addingTimeInterval(-4 * 86_400), at: "server/tls/port-8443.pem")
        let context = try await serverContext(ports: [8443: "server/tls/port-8443.pem"])
        let device = try await context.store.enroll(
            Device(
                fingerprint: String(repeating: "D", count: 40), publicKey: "k", hostname: "desk", machineID: "m",
                state: .pending, enrolledAt: t0), acceptUnlessFlagged: true)
        #expect(device.state == .accepted)
        let yaml =
            Self.checks + """

                  - name: not-reporting
                    computed: not-reporting
                    after: 1h
                """
        let (output, _) = try await run(context, yaml, at: t0.addingTimeInterval(3 * 3600), cron: true, json: true)
        guard case .array(let report) = try JSONValue.parse(output), report.count == 2 else {
            Issue.record("expected the server and one device: \(output)")
            return
        }
        #expect(report[0]["server"] == .bool(true))
        #expect(report[1]["hostname"] == .string("desk"))
        guard case .array(let deviceIssues)? = report[1]["issues"] else {
            Issue.record("no issues: \(output)")
            return
        }
        #expect(deviceIssues.compactMap { $0["name"]?.stringValue } == ["not-reporting"])
        #expect(try await context.store.openIssues(fingerprint: nil).map(\.name) == ["not-reporting"])

        let check = try #require(try CheckCatalog.parse(Self.checks, source: "test.yml").check(named: "expiring-certificate"))
        #expect(CheckEvaluator().evaluate(check, on: AuditSubject(device: device), now: t0).verdict == .clear)
        let admin = IssueAdmin(store: context.store, catalog: try CheckCatalog.parse(yaml, source: "test.yml"))
        await #expect(throws: AdminError.self) { try await admin.open("desk", name: "expiring-certificate") }
        await #expect(throws: AdminError.self) { try await admin.dryRun(check) }
        await #expect(throws: AdminError.self) {
            try await admin.snooze(until: t0, host: nil, name: "expiring-certificate", all: false)
        }
    }

    // MARK: - Helpers

    /// A server install root whose TLS ports use the given certificate files, and its client CA.
    func serverContext(
        ports: [Int: String], clientCA: String = "",
        configure: (inout ServerSettings) -> Void = { _ in }
    ) async throws -> ServerContext {
        try await makeServerContext(sandbox) { settings in
            settings.ports = ports.keys.sorted().map { number in
                PortSettings(number: number, tls: .init(certificate: ports[number]!, key: "server/tls/unused.key"))
            }
            settings.clientCAFile = clientCA
            configure(&settings)
        }
    }

    /// Makes a self-signed certificate for `host`, valid `days` from `madeAt` (t0), installs it at
    /// `path` under the install root, and returns what it says.
    @discardableResult
    func certificate(_ host: String, days: Int, madeAt: Date? = nil, at path: String) throws -> CertificateInfo {
        let pem = try SelfSignedCertificate(hostnames: [host], validDays: days, now: madeAt ?? t0).certificatePEM
        try install(pem, at: path)
        return try #require(try CertificateInfo.parse(pem: pem, source: path).first)
    }

    func install(_ text: String, at path: String) throws { try sandbox.write(text, to: "server/" + path) }

    func run(_ context: ServerContext, _ yaml: String, at now: Date, cron: Bool, json: Bool = false) async throws
        -> (output: String, outcome: IssuesAudit.Outcome)
    {
        var output = ""
        let catalog = try CheckCatalog.parse(yaml, source: "test.yml")
        let outcome = try await IssuesAudit(context: context.admin, catalog: catalog)
            .run(.init(cron: cron, json: json, now: now)) { output += $0 }
        return (output, outcome)
    }

    /// What `bin/issues audit` prints.
    func audit(
        _ context: ServerContext, _ yaml: String = Self.checks, at now: Date? = nil, cron: Bool = false,
        json: Bool = false
    ) async throws -> String {
        try await run(context, yaml, at: now ?? soon, cron: cron, json: json).output
    }

    struct Shown: Equatable {
        var status: String
        var alertedAt: String?
        var detail: String
    }

    /// The server's entries in the JSON report; checks that the server element comes first.
    func issues(
        _ context: ServerContext, _ yaml: String = Self.checks, at now: Date? = nil,
        cron: Bool = false
    ) async throws -> [Shown] {
        let output = try await audit(context, yaml, at: now, cron: cron, json: true)
        guard case .array(let report) = try JSONValue.parse(output) else { throw AuditTestError.notAnArray(output) }
        guard let server = report.first, server["server"] == .bool(true) else { return [] }
        #expect(server.objectValue?.keys.sorted() == ["issues", "server"])
        guard case .array(let entries)? = server["issues"] else { return [] }
        return entries.map { entry in
            Shown(
                status: entry["status"]?.stringValue ?? "?", alertedAt: entry["alerted_at"]?.stringValue,
                detail: entry["detail"]?.stringValue ?? "")
        }
    }

    func details(_ context: ServerContext, _ yaml: String = Self.checks) async throws -> [String] {
        try await issues(context, yaml).map(\.detail)
    }

    /// var/server/server-alerts.json: finding key to the time of its last alert.
    func alertLog(_ context: ServerContext) throws -> [String: String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: context.root.serverState + "/server-alerts.json"))
        let object = try #require(try JSONValue.parse(data).objectValue)
        return object.compactMapValues(\.stringValue)
    }
}
