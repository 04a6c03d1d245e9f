import Foundation
import RookeryCore
import Testing

/// client-setup.sh and server-setup.sh, run for real into sandbox roots (no packages, no /etc: the
/// systemd unit and the cron files go into the sandbox).
@Suite struct SetupScriptTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    func runScript(_ script: String, _ arguments: [String]) throws -> ProcessOutput {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "ROOKERY_HOME")
        return try runProcess("/bin/bash", [Self.repository + "/" + script] + arguments, environment: environment)
    }

    @Test func clientSetupLaysOutTheRootMakesTheKeyAndTheCronLine() throws {
        let sandbox = try Sandbox()
        let root = sandbox.path + "/c1"
        let cronFile = sandbox.path + "/cron.d-rookery"
        let setup = try runScript(
            "client/client-setup.sh",
            [
                "--root", root, "--yes", "--no-packages", "--server-url", "http://127.0.0.1:9",
                "--binary", binaryDirectory + "/rookery-client", "--cron-file", cronFile
            ])
        #expect(setup.status == 0, "\(setup.stderr)")

        // The URL goes where a release replaces it, not into the owner's settings.
        let settings = try String(contentsOfFile: root + "/client/settings.yml", encoding: .utf8)
        #expect(!settings.contains("\nserver_url:"))
        let release = try String(contentsOfFile: root + "/client/release.yml", encoding: .utf8)
        #expect(release == "server_url: \"http://127.0.0.1:9\"\n")
        let status = try JSONValue.parse(Data(try runBinary("rookery-client", ["status", "--json"], root: root).stdout.utf8))
        #expect(status["settings"]?["server_url"]?["source"] == .string("release"), "\(status)")
        #expect(status["settings"]?["server_url"]?["file"] == .string(root + "/client/release.yml"))
        #expect(FileManager.default.isExecutableFile(atPath: root + "/lib/rookery/rookery-client"))
        #expect(FileManager.default.isExecutableFile(atPath: root + "/bin/client-cron"))
        let cron = try String(contentsOfFile: cronFile, encoding: .utf8)
        #expect(cron.contains("* * * * * root \(root)/bin/client-cron"))

        // The key it printed is the device's key, and the installed wrapper finds the binary.
        let printed = try #require(setup.stdout.split(separator: "\n").first { $0.hasPrefix("device key: ") })
        let key = try runBinary("rookery-client", ["key"], root: root)
        #expect(printed.hasSuffix(key.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(InputValidation.fingerprint(key.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) != nil)

        // A second run keeps the owner's settings.
        try "server_url: http://keep.example\n".write(toFile: root + "/client/settings.yml", atomically: true, encoding: .utf8)
        #expect(
            try runScript(
                "client/client-setup.sh",
                [
                    "--root", root, "--yes", "--no-packages", "--no-cron",
                    "--binary", binaryDirectory + "/rookery-client"
                ]
            ).status == 0)
        #expect(try String(contentsOfFile: root + "/client/settings.yml", encoding: .utf8) == "server_url: http://keep.example\n")

        // A release.yml already there (from an unpacked release) keeps its other lines.
        try "enrollment_token: \"t0k\"\nserver_url: \"http://old.example\"\n"
            .write(toFile: root + "/client/release.yml", atomically: true, encoding: .utf8)
        let again = try runScript(
            "client/client-setup.sh",
            [
                "--root", root, "--yes", "--no-packages", "--no-cron",
                "--server-url", "https://new.example:8443",
                "--binary", binaryDirectory + "/rookery-client"
            ])
        #expect(again.status == 0 && again.stderr.isEmpty, "\(again.stderr)")
        #expect(
            try String(contentsOfFile: root + "/client/release.yml", encoding: .utf8)
                == "enrollment_token: \"t0k\"\nserver_url: \"https://new.example:8443\"\n")
        let mode = try FileManager.default.attributesOfItem(atPath: root + "/client/release.yml")[.posixPermissions] as? Int
        #expect(mode == 0o600, "it may hold an enrollment token")

        // A URL that would not survive the quoting in client/release.yml is a usage error.
        let refused = try runScript(
            "client/client-setup.sh",
            [
                "--root", root, "--no-packages", "--no-cron",
                "--server-url", "https://a\"b.example"
            ])
        #expect(refused.status == 2 && refused.stderr.contains("--server-url wants an http:// or https:// URL"), "\(refused.stderr)")
    }

    @Test func serverSetupMakesSettingsKeyUnitAndAuditCron() throws {
        let sandbox = try Sandbox()
        let root = sandbox.path + "/srv"
        let units = sandbox.path + "/units"
        let cronDirectory = sandbox.path + "/cron.d"
        let arguments = [
            "--root", root, "--yes", "--no-packages", "--binary", binaryDirectory + "/rookery",
            "--unit-dir", units, "--cron-dir", cronDirectory, "--user", NSUserName()
        ]
        let setup = try runScript("server/server-setup.sh", arguments + ["--port", "18443"])
        #expect(setup.status == 0, "\(setup.stderr)")
        #expect(!setup.stderr.contains("trustdb"), "gpg's narration stays out: \(setup.stderr)")
        let settingsFile = root + "/server/settings.yml"
        let settings = try String(contentsOfFile: settingsFile, encoding: .utf8)
        #expect(settings.contains("listen_port: 18443"))
        let unit = try String(contentsOfFile: units + "/rookery-server.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=\(root)/bin/server --enrollment-check-socket /run/rookery/enroll-check.sock"))
        #expect(unit.contains("User=\(NSUserName())\n"))
        let socket = try String(contentsOfFile: units + "/rookery-enroll-check.socket", encoding: .utf8)
        #expect(socket.contains("SocketUser=\(NSUserName())\n") && socket.contains("Accept=yes"))
        let checker = try String(contentsOfFile: units + "/rookery-enroll-check@.service", encoding: .utf8)
        #expect(checker.contains("ExecStart=\(root)/lib/rookery/rookery enroll-check\n") && checker.contains("DynamicUser=yes"))
        let publicKey = try String(contentsOfFile: root + "/server/server-key.asc", encoding: .utf8)
        #expect(publicKey.contains("BEGIN PGP PUBLIC KEY BLOCK"))
        // The admin commands work on the new root straight away, the audit with the shipped checks.
        let listed = try runBinary("rookery", ["clients", "list", "--json"], root: root)
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        #expect(FileManager.default.isExecutableFile(atPath: root + "/bin/issues"))
        #expect(FileManager.default.isExecutableFile(atPath: root + "/bin/client_parameters"))
        #expect(FileManager.default.isExecutableFile(atPath: root + "/bin/configure_ports"))
        let audit = try runBinary("rookery", ["issues", "audit", "--full"], root: root)
        #expect(audit.status == 0, "\(audit.stderr)")
        #expect(audit.stdout.isEmpty)

        // The hourly audit line, without MAILTO while audit.mailto is empty, and a note saying so.
        let cronFile = cronDirectory + "/rookery-issues-audit"
        let auditLine = "0 * * * * \(NSUserName()) \(root)/bin/issues audit --cron\n"
        var cron = try String(contentsOfFile: cronFile, encoding: .utf8)
        #expect(cron.contains(auditLine))
        #expect(!cron.contains("MAILTO="))
        #expect(setup.stderr.contains("audit.mailto is not set"))
        let mode = (try FileManager.default.attributesOfItem(atPath: cronFile)[.posixPermissions] as? Int).map { $0 & 0o7777 }
        #expect(mode == 0o644)

        // A rerun takes audit.mailto into the cron file and keeps an admin's own issues.yml.
        try "checks: []\n".write(toFile: root + "/server/issues.yml", atomically: true, encoding: .utf8)
        try settings.replacingOccurrences(of: "  mailto: \"\"", with: "  mailto: \"admin@example.org, ops@example.org\"")
            .write(toFile: settingsFile, atomically: true, encoding: .utf8)
        let rerun = try runScript("server/server-setup.sh", arguments)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        cron = try String(contentsOfFile: cronFile, encoding: .utf8)
        #expect(cron.contains("MAILTO=admin@example.org,ops@example.org\n" + auditLine))
        #expect(!rerun.stderr.contains("audit.mailto is not set"))
        #expect(try String(contentsOfFile: root + "/server/issues.yml", encoding: .utf8) == "checks: []\n")

        // Another --port on a rerun is not applied, and it says so; the same one is no news.
        let samePort = try runScript("server/server-setup.sh", arguments + ["--port", "18443"])
        #expect(samePort.status == 0 && !samePort.stderr.contains("--port"), "\(samePort.stderr)")
        let otherPort = try runScript("server/server-setup.sh", arguments + ["--port", "19443"])
        #expect(otherPort.status == 0, "\(otherPort.stderr)")
        #expect(
            otherPort.stderr.contains("--port 19443 is not applied") && otherPort.stderr.contains("bin/configure_ports"),
            "\(otherPort.stderr)")
        #expect(try String(contentsOfFile: settingsFile, encoding: .utf8).contains("listen_port: 18443\n"))
        #expect(try runScript("server/server-setup.sh", arguments + ["--port", "8o80"]).status == 2)

        // A MAILTO that could smuggle anything else into a file cron reads as root is refused.
        try settings.replacingOccurrences(of: "  mailto: \"\"", with: "  mailto: admin@example.org; touch /tmp/x")
            .write(toFile: settingsFile, atomically: true, encoding: .utf8)
        let refused = try runScript("server/server-setup.sh", arguments)
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("audit.mailto"))
        #expect(try String(contentsOfFile: cronFile, encoding: .utf8) == cron)
    }

    @Test func missingRootIsAUsageError() throws {
        let result = try runScript("client/client-setup.sh", ["--yes"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--root"))
    }
}
