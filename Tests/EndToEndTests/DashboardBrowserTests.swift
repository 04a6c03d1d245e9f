import Foundation
import RookeryCore
import RookeryServer
import RookeryTestSupport
import Testing

/// The dashboard of a real `rookery server`, over a fleet of real devices (one of them sending
/// markup and script in its document), loaded page by page in headless Chromium (Debian's
/// package, which bin/test installs). Screenshots are kept in a directory the output names.
@Suite struct DashboardBrowserTests {
    static let password = "look-but-do-not-touch"

    /// A plugin whose values are markup: shown as text, it runs nothing.
    static let hostilePlugin = #"""
        #!/bin/sh
        cat <<'EOF'
        {"script": "<script>document.title='pwned'</script>", "image": "<img src=x onerror=\"document.title='pwned'\">", "<b>key</b>": "bold?"}
        EOF
        """#

    @Test func everyPageShowsTheFleetAndRunsNothingADeviceSent() throws {
        let chromium = try #require(Self.chromium, "no Chromium: run the tests through bin/test, which installs Debian's chromium")
        let sandbox = try Sandbox()
        let (server, dashboard) = try Self.startServer(in: sandbox)
        let names = ["laptop-ann", "laptop-bo", "build-01", "evil"]
        var fingerprints: [String: String] = [:]
        for name in names {
            let device = try ClientRoot(sandbox: sandbox, name: name, serverURL: server.url)
            if name == "evil" { try sandbox.write(Self.hostilePlugin, to: name + "/client/plugins/notes.sh", mode: 0o755) }
            #expect(try device.run("enroll").status == 0)
            #expect(try server.admin(["clients", "accept", name]).status == 0)
            #expect(try device.run("collect").status == 0)
            #expect(try device.run("submit").status == 0)
            fingerprints[name] = try Self.fingerprint(of: name, server: server)
        }
        let pending = try ClientRoot(sandbox: sandbox, name: "newcomer", serverURL: server.url)
        #expect(try pending.run("enroll").status == 0)
        #expect(try server.admin(["issues", "audit"]).status == 0)

        let shots = try Self.screenshotDirectory()
        print("dashboard screenshots: \(shots)")
        let evil = try #require(fingerprints["evil"])
        let pages: [(name: String, path: String, shows: [String])] = [
            ("overview", "/", ["Fleet overview", "counter-seen", "Compliance, last 30 days", "<svg"]),
            ("devices", "/devices?sort=hostname", names + ["newcomer"]),
            ("device", "/devices/\(evil)", ["evil", evil, "notes", "counter-seen"]),
            ("check", "/checks/counter-seen", ["counter-seen", "The counter plugin reported"] + names),
            ("enrollments", "/enrollments", ["newcomer"]),
            ("releases", "/releases", ["Client releases"])
        ]
        let base = "http://carol:\(Self.password)@127.0.0.1:\(dashboard)"
        for page in pages {
            let dom = try Self.browse(chromium, base + page.path, sandbox: sandbox, action: "--dump-dom")
            for text in page.shows { #expect(dom.contains(text), "\(page.name) shows \(text)") }
            // Nothing the device sent became markup, and nothing ran: the title is the page's own.
            #expect(!dom.contains("<script"), "\(page.name): no script element")
            #expect(!dom.contains("<img"), "\(page.name): no image element")
            #expect(!dom.contains("<b>key"), "\(page.name)")
            #expect(!dom.contains("pwned</title>"), "\(page.name): no script ran")
            _ = try Self.browse(chromium, base + page.path, sandbox: sandbox, action: "--screenshot=\(shots)/\(page.name).png")
            #expect(FileManager.default.fileExists(atPath: "\(shots)/\(page.name).png"), "\(page.name).png")
        }
        let evilPage = try Self.browse(chromium, base + "/devices/\(evil)", sandbox: sandbox, action: "--dump-dom")
        #expect(evilPage.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"), "the value is shown, as text")

        // Without credentials: refused (the browser shows no page of the fleet).
        let refused = try runProcess(
            "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(dashboard)/devices"], environment: [:])
        #expect(refused.stdout == "401")
        let strangerDOM = try Self.browse(chromium, "http://127.0.0.1:\(dashboard)/devices", sandbox: sandbox, action: "--dump-dom")
        #expect(!strangerDOM.contains("laptop-ann"))
    }

    /// A server with the dashboard on a port of its own, carol allowed in by password.
    static func startServer(in sandbox: Sandbox) throws -> (ServerProcess, Int) {
        let server = try ServerProcess(sandbox: sandbox)
        let hash = PasswordHash(hashing: password, rounds: 1000).description
        try sandbox.write(
            """
            listen_host: 127.0.0.1
            listen_port: 0
            dashboard:
              port: 0
            users:
              carol: '\(hash)'
            endpoint_auth:
              dashboard:
                users: [carol]

            """, to: "srv/server/settings.yml")
        try sandbox.write(counterSeenChecks(), to: "srv/server/issues.yml")
        let portFile = sandbox.path + "/dashboard.port"
        server.extraArguments = ["--dashboard-port-file", portFile]
        try server.start()
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return (server, port)
            }
            usleep(50_000)
        }
        throw SettingsError("the dashboard did not start listening within 30 s")
    }

    static var chromium: String? {
        ProcessInfo.processInfo.environment["ROOKERY_TEST_CHROMIUM"]
            ?? (FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") ? "/usr/bin/chromium" : nil)
    }

    static func fingerprint(of name: String, server: ServerProcess) throws -> String {
        let shown = try server.admin(["clients", "show", name, "--json"])
        let device = try JSONValue.parse(Data(shown.stdout.utf8))
        return try #require(device["fingerprint"]?.stringValue ?? device["device"]?["fingerprint"]?.stringValue)
    }

    /// A directory that outlives the test, for the screenshots.
    static func screenshotDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/rookery-dashboard-shots-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw SettingsError("cannot make a directory for screenshots") }
        return String(cString: made)
    }

    /// Chromium, headless, with a profile and home of its own in the sandbox (the machine's are
    /// never touched); `--no-sandbox` because tests may run as root, where Chromium's own
    /// sandbox cannot start. What it printed (the DOM, for --dump-dom).
    static func browse(_ chromium: String, _ url: String, sandbox: Sandbox, action: String) throws -> String {
        let profile = try sandbox.directory("chromium-profile")
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = profile
        let output = try runProcess(
            chromium,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--user-data-dir=\(profile)", "--window-size=1280,1400", "--hide-scrollbars", action, url
            ], environment: environment)
        guard output.status == 0 else { throw SettingsError("chromium exited \(output.status): \(output.stderr.suffix(800))") }
        return output.stdout
    }
}
