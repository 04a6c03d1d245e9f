import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import RookeryCore
import Testing

@testable import RookeryServer

/// The dashboard's read API, every route, over a fleet seeded through the real protocol and a real
/// audit; and who may read it. Driven through the dashboard's router without a socket.
@Suite struct DashboardAPITests {
    static let password = "dashboard-secret"
    /// sshd-passwords (in a grace period of 2 h: its issues are open, not yet due).
    static let checks = AuditLifecycleTests.checks

    let sandbox: Sandbox
    let context: ServerContext
    let devices: [TestDevice]

    init() async throws {
        let sandbox = try Sandbox()
        self.sandbox = sandbox
        try sandbox.write(Self.checks, to: "server/server/issues.yml")
        context = try await makeServerContext(sandbox) { settings in
            settings.dashboard = DashboardSettings(port: 0)
            settings.users = ["carol": PasswordHash(hashing: Self.password, rounds: 1000).description]
            var auth = EndpointAuthSettings()
            auth.users = ["carol"]
            settings.endpointAuth = ["dashboard": auth]
        }
        devices = try ["web1", "web2", "db1"].map { try TestDevice(sandbox, name: $0) }
    }

    static var credentials: HTTPFields { [.authorization: "Basic " + Data("carol:\(password)".utf8).base64EncodedString()] }

    /// web1 and db1 accept sshd passwords, web2 does not; one audit ran; a fourth key waits.
    /// `extra` devices are accepted too and submit what they are given.
    func seeded(
        extra: [(TestDevice, [String: JSONValue])] = [], _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let sent = devices.map { device -> (TestDevice, [String: JSONValue]) in
            (device, ["sshd": .object(["password_authentication": .bool(device.host != "web2")])])
        }
        try await withServer(context, accepting: devices + extra.map(\.0), over: .router) { client in
            for (device, plugins) in sent + extra {
                #expect(try await post(client, try device.sign(.submit, TestDevice.submitFields(plugins: plugins))).status == .ok)
            }
            let waiting = try TestDevice(sandbox, name: "newcomer")
            #expect(try await post(client, try waiting.sign(.enroll, try waiting.enrollFields())).status == .ok)
        }
        _ = try await Auditor(context: context, yaml: Self.checks).run(at: Date(), cron: false)
        let app = Application(router: try dashboardRouter(context: context, failures: FailureLimiter()))
        try await app.test(.router) { client in try await test(client) }
    }

    static func get(_ client: some TestClientProtocol, _ path: String, authorized: Bool = true) async throws -> TestResponse {
        try await client.execute(uri: path, method: .get, headers: authorized ? credentials : [:])
    }

    static func json(_ response: TestResponse) throws -> JSONValue {
        try JSONValue.parse(Data(buffer: response.body))
    }

    @Test func theFleetRouteCountsDevicesIssuesAndTheDaysCompliance() async throws {
        try await seeded { client in
            let response = try await Self.get(client, "/rookery/v1/admin/fleet")
            #expect(response.status == .ok)
            let fleet = try Self.json(response)
            let states = fleet["devices_by_state"]?.arrayValue ?? []
            #expect(states.contains(.object(["state": .string("accepted"), "devices": .integer(3)])))
            #expect(states.contains(.object(["state": .string("pending"), "devices": .integer(1)])))
            #expect(fleet["reported_within_hour"] == .integer(3))
            #expect(fleet["open_issues"] == .integer(2))
            #expect(
                fleet["checks"]
                    == .array([
                        .object([
                            "check": .string("sshd-passwords"), "description": .string("sshd accepts passwords"),
                            "open": .integer(2), "snoozed": .integer(0)
                        ])
                    ]))
            let today = ComplianceDay.day(of: Date())
            #expect(
                fleet["trend"]
                    == .array([.object(["day": .string(today), "passed": .integer(1), "failed": .integer(2), "unknown": .integer(0)])]))
        }
    }

    @Test func devicesArePagedSortedAndFiltered() async throws {
        try await seeded { client in
            var page = try Self.json(try await Self.get(client, "/rookery/v1/admin/devices?per_page=2"))
            #expect(page["total"] == .integer(4))
            #expect(page["pages"] == .integer(2))
            #expect(page["devices"]?.arrayValue?.map { $0["hostname"] } == [.string("db1"), .string("newcomer")])
            page = try Self.json(try await Self.get(client, "/rookery/v1/admin/devices?per_page=2&page=2"))
            #expect(page["devices"]?.arrayValue?.map { $0["hostname"] } == [.string("web1"), .string("web2")])

            page = try Self.json(try await Self.get(client, "/rookery/v1/admin/devices?state=accepted&sort=open_issues&order=desc"))
            #expect(page["total"] == .integer(3))
            #expect(page["devices"]?.arrayValue?.map { $0["hostname"] } == [.string("web1"), .string("db1"), .string("web2")])
            #expect(page["devices"]?.arrayValue?.map { $0["open_issues"] } == [.integer(1), .integer(1), .integer(0)])

            for wrong in ["state=lost", "sort=colour", "order=sideways", "page=0", "per_page=501", "page=x"] {
                let refused = try await Self.get(client, "/rookery/v1/admin/devices?" + wrong)
                #expect(refused.status == .badRequest, "\(wrong)")
                #expect(try Self.json(refused)["error"] == .string("malformed"))
            }
        }
    }

    @Test func aDeviceRouteShowsItsFactsIssuesAndNothingSecret() async throws {
        try await seeded { client in
            let web1 = devices[0]
            let device = try Self.json(try await Self.get(client, "/rookery/v1/admin/devices/\(web1.fingerprint.lowercased())"))
            #expect(device["hostname"] == .string("web1"))
            #expect(device["state"] == .string("accepted"))
            #expect(device["open_issues"]?.arrayValue?.map { $0["check"] } == [.string("sshd-passwords")])
            #expect(
                device["facts"]
                    == .array([
                        .object([
                            "plugin": .string("sshd"),
                            "values": .array([.object(["path": .string("password_authentication"), "value": .string("true")])])
                        ])
                    ]))
            let unknown = try await Self.get(client, "/rookery/v1/admin/devices/" + String(repeating: "A", count: 40))
            #expect(unknown.status == .notFound)
            #expect(try await Self.get(client, "/rookery/v1/admin/devices/web1").status == .notFound, "named by fingerprint only")
        }
    }

    @Test func aCheckRouteListsWhoFailsSinceWhen() async throws {
        try await seeded { client in
            let check = try Self.json(try await Self.get(client, "/rookery/v1/admin/checks/sshd-passwords"))
            #expect(check["total"] == .integer(2))
            #expect(Set(check["failing"]?.arrayValue?.compactMap { $0["hostname"]?.stringValue } ?? []) == ["web1", "db1"])
            #expect(check["remediation"] == .string("Set PasswordAuthentication no."))
            let byName = try Self.json(try await Self.get(client, "/rookery/v1/admin/checks/sshd-passwords?sort=hostname&order=desc"))
            #expect(byName["failing"]?.arrayValue?.map { $0["hostname"] } == [.string("web1"), .string("db1")])
            #expect(byName["sort"] == .string("hostname") && byName["order"] == .string("desc"))
            #expect(try await Self.get(client, "/rookery/v1/admin/checks/sshd-passwords?sort=colour").status == .badRequest)
            let issues = try Self.json(try await Self.get(client, "/rookery/v1/admin/issues?sort=hostname"))
            #expect(issues["issues"]?.arrayValue?.map { $0["hostname"] } == [.string("db1"), .string("web1")])
            #expect(try await Self.get(client, "/rookery/v1/admin/checks/no-such-check").status == .notFound)
            #expect(try await Self.get(client, "/rookery/v1/admin/checks/..%2F..").status == .notFound)

            let trend = try Self.json(try await Self.get(client, "/rookery/v1/admin/trend?check=sshd-passwords&days=7"))
            #expect(trend["days"]?.arrayValue?.first?["failed"] == .integer(2))
            #expect(try await Self.get(client, "/rookery/v1/admin/trend?check=Bad*Name").status == .badRequest)
        }
    }

    @Test func issuesChecksAndADevicesHistoryAreListed() async throws {
        try await seeded { client in
            let issues = try Self.json(try await Self.get(client, "/rookery/v1/admin/issues?per_page=1"))
            #expect(issues["total"] == .integer(2))
            #expect(issues["pages"] == .integer(2))
            #expect(issues["issues"]?.arrayValue?.first?["check"] == .string("sshd-passwords"))
            let byCheck = try Self.json(try await Self.get(client, "/rookery/v1/admin/issues?check=sshd-passwords"))
            #expect(byCheck["total"] == .integer(2))
            let none = try Self.json(try await Self.get(client, "/rookery/v1/admin/issues?check=no-such-check"))
            #expect(none["total"] == .integer(0))

            let checks = try Self.json(try await Self.get(client, "/rookery/v1/admin/checks"))
            #expect(
                checks["checks"]
                    == .array([
                        .object([
                            "check": .string("sshd-passwords"), "description": .string("sshd accepts passwords"),
                            "remediation": .string("Set PasswordAuthentication no."), "open": .integer(2), "snoozed": .integer(0)
                        ])
                    ]))

            let web1 = devices[0]
            let history = try Self.json(try await Self.get(client, "/rookery/v1/admin/devices/\(web1.fingerprint)/history?limit=5"))
            #expect(history["hostname"] == .string("web1"))
            #expect(history["changes"]?.arrayValue?.contains { $0["path"] == .string("plugins.sshd.password_authentication") } == true)
            #expect(try await Self.get(client, "/rookery/v1/admin/devices/\(web1.fingerprint)/history?limit=1001").status == .badRequest)
        }
    }

    @Test func enrollmentsAndReleasesAreListed() async throws {
        try await seeded { client in
            let enrollments = try Self.json(try await Self.get(client, "/rookery/v1/admin/enrollments"))
            #expect(enrollments["pending"]?.arrayValue?.map { $0["hostname"] } == [.string("newcomer")])
            #expect(enrollments["total"] == .integer(1) && enrollments["pages"] == .integer(1))
            let beyond = try Self.json(try await Self.get(client, "/rookery/v1/admin/enrollments?page=2"))
            #expect(beyond["pending"] == .array([]) && beyond["total"] == .integer(1))
            let releases = try Self.json(try await Self.get(client, "/rookery/v1/admin/releases"))
            #expect(releases["releases"] == .array([]))
        }
    }

    /// Every route, pages and API, refuses a request without credentials or with wrong ones.
    @Test func everyRouteRefusesStrangers() async throws {
        let fingerprint = devices[0].fingerprint
        let routes = [
            "/", "/devices", "/devices/\(fingerprint)", "/checks/sshd-passwords", "/enrollments", "/releases", "/metrics",
            "/rookery/v1/admin/fleet", "/rookery/v1/admin/devices", "/rookery/v1/admin/devices/\(fingerprint)",
            "/rookery/v1/admin/checks/sshd-passwords", "/rookery/v1/admin/trend", "/rookery/v1/admin/enrollments",
            "/rookery/v1/admin/releases", "/rookery/v1/admin/issues", "/rookery/v1/admin/checks",
            "/rookery/v1/admin/devices/\(fingerprint)/history"
        ]
        try await seeded { client in
            for route in routes {
                let anonymous = try await Self.get(client, route, authorized: false)
                #expect(anonymous.status == .unauthorized, "\(route)")
                #expect(anonymous.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
                #expect(anonymous.headers[HTTPField.Name("Content-Security-Policy")!] != nil, "\(route): refusals carry the policy too")
                #expect(try await Self.get(client, route).status == .ok, "\(route)")
            }
            // Wrong passwords count towards the address's limit (10 per 5 minutes), so a few routes.
            for route in ["/", "/rookery/v1/admin/fleet", "/metrics"] {
                let wrong = try await client.execute(
                    uri: route, method: .get, headers: [.authorization: "Basic " + Data("carol:guess".utf8).base64EncodedString()])
                #expect(wrong.status == .unauthorized, "\(route)")
            }
        }
    }

    @Test func aDashboardThatAllowsNobodyStopsTheServer() async throws {
        var settings = ServerSettings()
        settings.dashboard = DashboardSettings(port: 8444)
        #expect(throws: SettingsError.self) { try EndpointAuthenticator(settings: settings) }
        settings.endpointAuth = ["dashboard": EndpointAuthSettings()]
        #expect(throws: SettingsError.self) { try EndpointAuthenticator(settings: settings) }
        var allowed = EndpointAuthSettings()
        allowed.ipRanges = ["10.0.0.0/8"]
        settings.endpointAuth = ["dashboard": allowed]
        _ = try EndpointAuthenticator(settings: settings)
    }
}
