import Foundation
import RookeryCore
import Testing

/// Devices set up as docs/install.md says, moved to a new TLS port as docs/ports.md says: the real
/// server on settings ports of 127.0.0.1, the real client-setup.sh, configure-ports and
/// client-release, and devices that take the release from their own cron run.
@Suite struct PortMoveEndToEndTests {
    static let deprecatedPortCheck = """
        checks:
          - name: deprecated-port
            description: The device uses a port that is being retired
            computed: deprecated-port
        """

    @Test func devicesSetUpWithAServerURLMoveToANewTLSPortWithTheNextRelease() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        let (old, new) = (try PortsEndToEndTests.freePort(), try PortsEndToEndTests.freePort())
        try sandbox.write("listen_host: 127.0.0.1\nlisten_port: \(old)\n", to: "srv/server/settings.yml")
        try sandbox.write(Self.deprecatedPortCheck, to: "srv/server/issues.yml")
        server.onSettingsPorts = true
        try server.start()

        // install.md: client-setup.sh --server-url, from a checkout, and the server's key copied in.
        // `legacy` is set up as client-setup.sh did before: the URL in the owner's settings.yml.
        let oldURL = "http://127.0.0.1:\(old)"
        let devices = [
            try Self.setUpDevice("fresh", serverURL: oldURL, server: server, sandbox: sandbox),
            try Self.setUpDevice("legacy", serverURL: oldURL, server: server, sandbox: sandbox)
        ]
        try Self.moveURLIntoOwnersSettings(devices[1], url: oldURL)
        for device in devices {
            #expect(try device.run("enroll").status == 0)
            #expect(try server.admin(["clients", "accept", device.name]).status == 0)
            #expect(try device.run("collect").status == 0)
            let submitted = try device.run("submit")
            #expect(submitted.status == 0, "\(device.name): \(submitted.stderr)")
        }
        #expect(try Self.status(devices[0])["settings"]?["server_url"]?["source"] == .string("release"))
        #expect(try Self.status(devices[1])["settings"]?["server_url"]?["source"] == .string("owner"))
        #expect(try server.count("SELECT count(*) FROM devices WHERE state = 'accepted' AND last_port = \(old)") == 2)

        // ports.md step 1: the new TLS port, the old one deprecated, the server restarted.
        try Self.configurePorts(server, ["add", "\(new)", "--tls-self-signed", "127.0.0.1"])
        try Self.configurePorts(server, ["set", "\(old)", "--deprecated"])
        #expect(server.terminate(within: 10))
        try server.start()

        // Both devices still report on the old port: removing it now would cut them off.
        let refused = try server.admin(["configure-ports", "remove", "\(old)"])
        #expect(refused.status == 5, "\(refused.stderr)")
        #expect(refused.stderr.contains("2 accepted devices still report on port \(old) (fresh, legacy)"), "\(refused.stderr)")
        #expect(refused.stderr.contains("bin/issues list --issue-name deprecated-port"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: server.root + "/server/settings.yml", encoding: .utf8).contains("\(old):"))

        // Step 2: releases name the new port and pin its certificate; a release is published.
        let newURL = "https://127.0.0.1:\(new)"
        try Self.configurePorts(server, ["client", "--url", newURL, "--ca-from-port", "\(new)"])
        #expect(try ReleaseFleet.publish(on: server, from: sandbox, version: 2) == 1)

        // Each device takes it at its next cron run and from then on reports on the new port.
        for device in devices {
            let ran = try device.run("cron")
            #expect(ran.status == 0, "\(device.name): \(ran.stderr)")
            let status = try Self.status(device)
            #expect(status["server_url"] == .string(newURL), "\(device.name): \(status)")
            #expect(status["settings"]?["server_url"]?["file"] == .string(device.root + "/current/client/release.yml"))
            #expect(status["settings"]?["server_ca"]?["file"] == .string(device.root + "/current/client/server-ca.pem"))
        }
        #expect(try Self.status(devices[1])["set_aside"] == .array([.string("server_url")]))
        #expect(try server.count("SELECT count(*) FROM devices WHERE state = 'accepted' AND last_port = \(new)") == 2)

        // Steps 3 and 4: no stragglers, so the old port goes, and the server restarts without it.
        let audit = try server.admin(["issues", "audit", "--json"])
        #expect(audit.status == 0 && !audit.stdout.contains("deprecated-port"), "\(audit.stdout)")
        try Self.configurePorts(server, ["remove", "\(old)"])
        #expect(server.terminate(within: 10))
        try server.start()
        #expect(server.port == new)
        for device in devices {
            #expect(try device.run("collect").status == 0)
            let submitted = try device.run("submit")
            #expect(submitted.status == 0 && submitted.stdout.contains("delivered 1"), "\(device.name): \(submitted.stderr)")
        }
        #expect(try server.count("SELECT count(*) FROM devices WHERE state = 'accepted' AND last_port = \(new)") == 2)
    }

    @Test func aPortDevicesStillReportOnIsRemovedOnlyWithForce() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        let (used, spare) = (try PortsEndToEndTests.freePort(), try PortsEndToEndTests.freePort())
        try sandbox.write("listen_host: 127.0.0.1\nport: [\(used), \(spare)]\n", to: "srv/server/settings.yml")
        server.onSettingsPorts = true
        try server.start()
        let laptop = try server.acceptedClient(sandbox: sandbox, name: "laptop", collections: 1)
        #expect(try laptop.run("submit").status == 0)

        let refused = try server.admin(["configure-ports", "remove", "\(used)"])
        #expect(refused.status == 5)
        #expect(refused.stderr.contains("1 accepted device still reports on port \(used) (laptop)"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--force"), "\(refused.stderr)")
        let forced = try server.admin(["configure-ports", "remove", "\(used)", "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        let shown = try server.admin(["configure-ports", "show", "--json"])
        #expect(!shown.stdout.contains("\"port\":\(used)") && shown.stdout.contains("\"port\":\(spare)"), "\(shown.stdout)")
    }

    /// client-setup.sh as docs/install.md shows it, into the sandbox (no packages, no cron file),
    /// then what the device's owner and the admin add: the device's name, the system root its
    /// plugins read, and the server key (a device set up from a checkout has none).
    static func setUpDevice(_ name: String, serverURL: String, server: ServerProcess, sandbox: Sandbox) throws -> ClientRoot {
        let root = sandbox.path + "/" + name
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "ROOKERY_HOME")
        let setup = try runProcess(
            "/bin/bash",
            [
                SetupScriptTests.repository + "/client/client-setup.sh",
                "--root", root, "--yes", "--no-packages", "--no-cron",
                "--server-url", serverURL, "--binary", binaryDirectory + "/rookery-client"
            ],
            environment: environment)
        guard setup.status == 0 else { throw SettingsError("client-setup.sh for \(name): \(setup.stderr)") }
        let settings = try String(contentsOfFile: root + "/client/settings.yml", encoding: .utf8)
        try sandbox.write(settings + "hostname: \(name)\nsystem_root: \(root)/system\n", to: name + "/client/settings.yml")
        try sandbox.write("machine-\(name)\n", to: name + "/system/etc/machine-id")
        try sandbox.write("ID=debian\nVERSION_ID=\"12\"\n", to: name + "/system/etc/os-release")
        try sandbox.write(
            try String(contentsOfFile: server.root + "/server/server-key.asc", encoding: .utf8),
            to: name + "/client/server-key.asc")
        return ClientRoot(setUpIn: root, name: name)
    }

    /// What client-setup.sh did before the URL moved to client/release.yml: the template's
    /// server_url line, uncommented and set, in the owner's client/settings.yml.
    static func moveURLIntoOwnersSettings(_ device: ClientRoot, url: String) throws {
        try FileManager.default.removeItem(atPath: device.root + "/client/release.yml")
        let path = device.root + "/client/settings.yml"
        let settings = try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: "\n#server_url: http://127.0.0.1:8080\n", with: "\nserver_url: \(url)\n")
        guard settings.contains("\nserver_url: \(url)\n") else { throw SettingsError("the template has no server_url line") }
        try settings.write(toFile: path, atomically: true, encoding: .utf8)
    }

    static func configurePorts(_ server: ServerProcess, _ arguments: [String]) throws {
        let ran = try server.admin(["configure-ports"] + arguments)
        guard ran.status == 0 else { throw SettingsError("configure-ports \(arguments): \(ran.stderr)") }
    }

    static func status(_ device: ClientRoot) throws -> JSONValue {
        try JSONValue.parse(Data(try device.run("status", "--json").stdout.utf8))
    }
}
