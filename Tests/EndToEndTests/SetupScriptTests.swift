import Foundation
import RookeryCore
import Testing

/// client-setup.sh and server-setup.sh, run for real into sandbox roots (no packages, no /etc).
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
        let setup = try runScript("client/client-setup.sh", [
            "--root", root, "--yes", "--no-packages", "--server-url", "http://127.0.0.1:9",
            "--binary", binaryDirectory + "/rookery-client", "--cron-file", cronFile])
        #expect(setup.status == 0, "\(setup.stderr)")

        let settings = try String(contentsOfFile: root + "/client/settings.yml", encoding: .utf8)
        #expect(settings.contains("server_url: http://127.0.0.1:9"))
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
        #expect(try runScript("client/client-setup.sh", ["--root", root, "--yes", "--no-packages", "--no-cron",
                                                          "--binary", binaryDirectory + "/rookery-client"]).status == 0)
        #expect(try String(contentsOfFile: root + "/client/settings.yml", encoding: .utf8) == "server_url: http://keep.example\n")
    }

    @Test func serverSetupMakesSettingsKeyAndUnit() throws {
        let sandbox = try Sandbox()
        let root = sandbox.path + "/srv"
        let units = sandbox.path + "/units"
        let setup = try runScript("server/server-setup.sh", [
            "--root", root, "--yes", "--no-packages", "--port", "18443",
            "--binary", binaryDirectory + "/rookery", "--unit-dir", units, "--user", NSUserName()])
        #expect(setup.status == 0, "\(setup.stderr)")
        let settings = try String(contentsOfFile: root + "/server/settings.yml", encoding: .utf8)
        #expect(settings.contains("listen_port: 18443"))
        let unit = try String(contentsOfFile: units + "/rookery-server.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=\(root)/bin/server"))
        #expect(unit.contains("User=\(NSUserName())\n"))
        let publicKey = try String(contentsOfFile: root + "/server/server-key.asc", encoding: .utf8)
        #expect(publicKey.contains("BEGIN PGP PUBLIC KEY BLOCK"))
        // The admin commands work on the new root straight away.
        let listed = try runBinary("rookery", ["clients", "list", "--json"], root: root)
        #expect(listed.status == 0, "\(listed.stderr)")
        #expect(listed.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
    }

    @Test func missingRootIsAUsageError() throws {
        let result = try runScript("client/client-setup.sh", ["--yes"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--root"))
    }
}
