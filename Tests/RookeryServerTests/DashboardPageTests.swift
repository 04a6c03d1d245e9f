import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RookeryCore
import Testing

@testable import RookeryServer

/// The dashboard's pages as HTML (escaping, the script policy) and /metrics as Prometheus reads
/// it. The pages in a real browser are DashboardBrowserTests' (end to end).
@Suite struct DashboardPageTests {
    /// What a hostile device puts in its document: markup in values and in a key.
    static let hostile: [String: JSONValue] = [
        "notes": .object([
            "script": .string("<script>document.title='pwned'</script>"),
            "attribute": .string("\" onmouseover=\"alert(1)"),
            "<img src=x onerror=alert(2)>": .string("in a key")
        ]),
        "sshd": .object(["password_authentication": .bool(true)])
    ]

    @Test func markupADeviceSentIsShownAsTextOnEveryPage() async throws {
        let fixture = try await DashboardAPITests()
        let evil = try TestDevice(fixture.sandbox, name: "evil")
        try await fixture.seeded(extra: [(evil, Self.hostile)]) { client in
            for path in ["/", "/devices", "/devices/\(evil.fingerprint)", "/checks/sshd-passwords", "/enrollments", "/releases"] {
                let response = try await DashboardAPITests.get(client, path)
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let policy = response.headers[HTTPField.Name("Content-Security-Policy")!] ?? ""
                #expect(policy.contains("default-src 'none'") && !policy.contains("script-src"), "\(path): no script is allowed")
                let html = String(buffer: response.body)
                #expect(!html.contains("<script"), "\(path)")
                #expect(!html.contains("<img"), "\(path)")
                #expect(!html.contains("onmouseover=\""), "\(path)")
            }
            let page = String(buffer: try await DashboardAPITests.get(client, "/devices/\(evil.fingerprint)").body)
            #expect(page.contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;"))
            #expect(page.contains(#"\&quot; onmouseover=\&quot;alert(1)"#))
            #expect(page.contains("<th class=\"mono\">&lt;img src=x onerror=alert(2)&gt;</th>"))
        }
    }

    /// The pager links only where there is a page to go to, keeping the page size.
    @Test func listsLinkTheirOtherPagesOnly() async throws {
        let fixture = try await DashboardAPITests()
        try await fixture.seeded { client in
            let first = String(buffer: try await DashboardAPITests.get(client, "/devices?per_page=2").body)
            #expect(!first.contains("rel=\"prev\""))
            #expect(first.contains("<a rel=\"next\" href=\"/devices?sort=hostname&amp;order=asc&amp;page=2&amp;per_page=2\">"))
            #expect(first.contains("href=\"/devices?state=accepted&amp;sort=hostname&amp;order=asc&amp;per_page=2\""), "filters keep the page size")
            let last = String(buffer: try await DashboardAPITests.get(client, "/devices?per_page=2&page=2").body)
            #expect(last.contains("rel=\"prev\"") && !last.contains("rel=\"next\""))
            let single = String(buffer: try await DashboardAPITests.get(client, "/checks/sshd-passwords").body)
            #expect(!single.contains("rel=\"prev\"") && !single.contains("rel=\"next\""))
            for page in [first, last, single] { #expect(!page.contains("nil")) }
        }
    }

    @Test func noTemplatePrintsAValueUnescaped() {
        for (name, template) in DashboardTemplates.all {
            #expect(!template.contains("{{{") && !template.contains("{{&"), "\(name)")
        }
    }

    @Test func metricsAreReadBackByPrometheusOwnParser() async throws {
        let fixture = try await DashboardAPITests()
        try await fixture.seeded { client in
            let response = try await DashboardAPITests.get(client, "/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let samples = try Self.parse(String(buffer: response.body))
            #expect(samples["rookery_requests_total{endpoint=submit,status=200}"] == 3)
            #expect(samples["rookery_requests_total{endpoint=enroll,status=200}"] == 4)
            #expect(samples["rookery_devices{state=accepted}"] == 3)
            #expect(samples["rookery_devices{state=pending}"] == 1)
            #expect(samples["rookery_pending_enrollments"] == 1)
            #expect(samples["rookery_accepted_devices_by_last_report{last_report=under_1h}"] == 3)
            #expect(samples["rookery_accepted_devices_by_last_report{last_report=1h_to_1d}"] == 0)
            #expect(samples["rookery_open_issues{check=sshd-passwords}"] == 2)
            #expect((samples["rookery_signature_check_seconds_count"] ?? 0) >= 3)
            let lastAudit = try #require(samples["rookery_last_audit_timestamp_seconds"])
            #expect(abs(lastAudit - Date().timeIntervalSince1970) < 600)
            #expect(samples["rookery_last_audit_duration_seconds"] != nil)
        }
    }

    /// Every sample as `name{label=value,...}` -> value, by prometheus_client's text parser
    /// (Debian's python3-prometheus-client, which bin/test installs): it refuses what Prometheus
    /// would refuse.
    static func parse(_ text: String) throws -> [String: Double] {
        let script = """
            import json, sys
            from prometheus_client.parser import text_string_to_metric_families
            out = {}
            for family in text_string_to_metric_families(sys.stdin.read()):
                for s in family.samples:
                    labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                    out[s.name + ("{" + labels + "}" if labels else "")] = s.value
            print(json.dumps(out))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script]
        let (input, output, errors) = (Pipe(), Pipe(), Pipe())
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw SettingsError("prometheus_client refused the text: \(problem)") }
        return try JSONDecoder().decode([String: Double].self, from: data)
    }
}
