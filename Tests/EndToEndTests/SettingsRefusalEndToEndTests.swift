import Foundation
import RookeryCore
import Testing

/// Settings files that cannot be used, through the real binaries: the server and every admin
/// command, and the device, report the file, line and column and never a line of it (they hold
/// passwords and tokens, and stderr goes to cron mail and journald); a misspelt key is refused
/// with the name meant; a device runs on its last good settings and tells the server so.
@Suite(.serialized) struct SettingsRefusalEndToEndTests {
    static let smtpPassword = SecretSettings.smtpPassword
    static let passwordHash = SecretSettings.passwordHash
    static let token = SecretSettings.token

    /// A server's settings holding all three secrets; `mistake` replaces line `line` (from 1).
    static func serverSettings(_ line: Int? = nil, _ mistake: String = "") -> String {
        SecretSettings.server(lastLine: "max_pending_devices: 10", line, mistake)
    }

    @Test func theGoodServerFileIsUsed() throws {
        let sandbox = try Sandbox()
        try sandbox.write(Self.serverSettings(), to: "srv/server/settings.yml", mode: 0o600)
        let listed = try runBinary("rookery", ["clients", "list"], root: sandbox.path + "/srv")
        #expect(listed.status == 0, "\(listed.stderr)")
    }

    @Test(arguments: [
        (10, "    password: \"\(smtpPassword)\"\n    password: \"\(smtpPassword)2\"", "line 10, column 5: this key is given again"),
        (6, "\talice: \"\(passwordHash)\"", "line 6, column 1: a tab"),
        (11, "max_pending_device: 10", "line 11, column 1: unknown key max_pending_device; did you mean max_pending_devices?")
    ])
    func aBrokenServerFileIsReportedByPlaceAlone(line: Int, mistake: String, says: String) throws {
        let sandbox = try Sandbox()
        let root = sandbox.path + "/srv"
        let text = Self.serverSettings(line, mistake)
        try sandbox.write(text, to: "srv/server/settings.yml", mode: 0o600)
        for arguments in [["server", "--port", "0"], ["clients", "list"], ["issues", "audit", "--cron"]] {
            // The server must stop at once; were it to start anyway, it is killed after 30 s.
            let ran = try Self.run("rookery", arguments, root: root, within: 30, sandbox: sandbox)
            #expect(ran.status == 64, "\(arguments): \(ran.stderr)")
            #expect(ran.stderr.contains("invalid settings in \(root)/server/settings.yml at \(says)"), "\(arguments): \(ran.stderr)")
            #expect(!ran.stderr.contains("Usage:"), "not a usage error: \(arguments): \(ran.stderr)")
            Self.expectNothing(of: text, in: ran.stderr + ran.stdout)
        }
    }

    /// A device's settings holding its enrollment token; `mistake` replaces line `line` (from 1).
    static func deviceSettings(_ client: ClientRoot, _ line: Int, _ mistake: String) -> String {
        var lines = [
            "server_url: http://127.0.0.1:9",  // 1
            "hostname: \(client.name)",  // 2
            "enrollment_token: \"\(token)\"",  // 3
            "allow_commands: false",  // 4
            "system_root: \(client.root)/system"  // 5
        ]
        lines[line - 1] = mistake
        return lines.joined(separator: "\n") + "\n"
    }

    @Test(arguments: [
        (4, "enrollment_token: \"\(token)2\"", "line 4, column 1: this key is given already on line 3"),
        (3, "\tenrollment_token: \"\(token)\"", "line 3, column 1: a tab"),
        (4, "allow_comands: false", "line 4, column 1: unknown key allow_comands; did you mean allow_commands?")
    ])
    func aBrokenDeviceFileWithNothingToFallBackOnStopsTheClient(line: Int, mistake: String, says: String) throws {
        let sandbox = try Sandbox()
        let client = try ClientRoot(sandbox: sandbox, name: "d1", serverURL: "http://127.0.0.1:9")
        let text = Self.deviceSettings(client, line, mistake)
        try sandbox.write(text, to: "d1/client/settings.yml", mode: 0o600)
        for command in ["collect", "submit", "cron", "status"] {
            let ran = try client.run(command)
            #expect(ran.status == 64, "\(command): \(ran.stderr)")
            #expect(ran.stderr.contains("invalid settings in \(client.root)/client/settings.yml at \(says)"), "\(command): \(ran.stderr)")
            #expect(ran.stderr.contains("no earlier settings to run on"), "\(command): \(ran.stderr)")
            #expect(!ran.stderr.contains("Usage:"), "not a usage error: \(ran.stderr)")
            Self.expectNothing(of: text, in: ran.stderr + ran.stdout)
        }
        #expect(client.queued().isEmpty, "nothing ran")
        Self.expectNoFile(under: client.root + "/var/client", holds: Self.token)
    }

    /// `allow_comands: false` replaces `allow_commands: false` on a device that ran with the
    /// latter: commands stay off, the log says why, and the server learns it from the next
    /// collection, until the file is fixed.
    @Test func aDeviceKeepsItsLastGoodSettingsAndSaysSo() throws {
        let fleet = try ReleaseFleet(devices: ["k1"], settings: "allow_commands: false\n")
        let device = fleet["k1"]
        let settingsFile = device.root + "/client/settings.yml"
        let good = try String(contentsOfFile: settingsFile, encoding: .utf8)
        let misspelt =
            good.replacingOccurrences(of: "allow_commands: false\n", with: "allow_comands: false\n")
            + "enrollment_token: \"\(Self.token)\"\n"
        #expect(good.contains("\nallow_commands: false\n"))
        try misspelt.write(toFile: settingsFile, atomically: true, encoding: .utf8)
        let line = misspelt.split(separator: "\n").firstIndex { $0.hasPrefix("allow_comands") }! + 1
        let problem = "invalid settings in \(settingsFile) at line \(line), column 1: unknown key allow_comands; did you mean allow_commands?"

        // Commands are still off: a command sent now is refused, not run.
        #expect(try fleet.server.admin(["client-command", "--host", "k1", "--name", "nope", "--command", "touch \(device.root)/ran"]).status == 0)
        let updated = try device.run("update", "--json")
        #expect(updated.status == 1, "\(updated.stderr)")
        #expect(try JSONValue.parse(Data(updated.stdout.utf8))["patches_refused"] == .integer(1), "\(updated.stdout)")
        #expect(updated.stderr.contains("warning: \(problem); running on the last good settings"), "\(updated.stderr)")
        Self.expectNothing(of: misspelt, in: updated.stderr)
        #expect(!FileManager.default.fileExists(atPath: device.root + "/ran"))

        // A cron run logs a refusal already logged only once, whatever its schedule.
        let logged = try Self.log(of: device).components(separatedBy: "allow_comands").count
        #expect(try device.run("cron").status == 0)
        #expect(try device.run("cron").status == 0)
        #expect(try Self.log(of: device).components(separatedBy: "allow_comands").count == logged)

        // The next collection tells the server, which stores it in the device's document.
        #expect(try device.run("collect").status == 0)
        let submitted = try device.run("submit")
        #expect(submitted.status == 0, "\(submitted.stdout) \(submitted.stderr)")
        let document = try fleet.document(of: "k1")
        #expect(document["settings_problem"]?.stringValue == problem, "\(document)")
        #expect(document["commands"]?["nope"]?["refused"]?.stringValue?.contains("allow_commands") == true, "\(document)")
        #expect(try Self.log(of: device).contains("warning \(problem)"))
        // The shipped check opens an issue for it.
        let checks = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("server/issues.yml")
        try fleet.sandbox.write(try String(contentsOf: checks, encoding: .utf8), to: "srv/server/issues.yml")
        #expect(try Self.openIssues(fleet, of: "k1").contains("client-settings-refused"))
        Self.expectNoFile(under: device.root + "/var/client", holds: Self.token, except: "settings.last-good.json")

        // Fixed, the file is used again and the next collection no longer carries the problem.
        try (good + "enrollment_token: \"\(Self.token)\"\n").write(toFile: settingsFile, atomically: true, encoding: .utf8)
        #expect(try device.run("collect").status == 0)
        #expect(try device.run("submit").status == 0)
        #expect(try fleet.document(of: "k1")["settings_problem"] == nil)
        #expect(try !Self.openIssues(fleet, of: "k1").contains("client-settings-refused"))
        #expect(try Self.log(of: device).contains("settings read again"))
        // The copy holds the token now, so only its owner may read it.
        let copy = try FileManager.default.attributesOfItem(atPath: device.root + "/var/client/settings.last-good.json")
        #expect(copy[.posixPermissions] as? Int == 0o600)
    }

    // MARK: - Helpers

    /// The names of a device's open issues, as `issues audit --json` reports them.
    static func openIssues(_ fleet: ReleaseFleet, of host: String) throws -> [String] {
        let audit = try fleet.server.admin(["issues", "audit", "--json"])
        #expect(audit.status == 0, "\(audit.stderr)")
        guard case .array(let devices) = try JSONValue.parse(Data(audit.stdout.utf8)),
            case .array(let issues)? = devices.first(where: { $0["hostname"] == .string(host) })?["issues"]
        else { return [] }
        return issues.compactMap { $0["name"]?.stringValue }
    }

    static func log(of client: ClientRoot) throws -> String {
        try String(contentsOfFile: client.root + "/var/client/client.log", encoding: .utf8)
    }

    /// No secret and no line of `text` in `output`.
    static func expectNothing(of text: String, in output: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for secret in [smtpPassword, passwordHash, token] {
            #expect(!output.contains(secret), "\(output)", sourceLocation: sourceLocation)
        }
        for line in text.split(separator: "\n") {
            let content = line.trimmingCharacters(in: .whitespaces)
            guard !content.isEmpty else { continue }
            #expect(!output.contains(content), "shows \(content): \(output)", sourceLocation: sourceLocation)
        }
    }

    /// No file under `directory` (but `except`) contains `secret`: logs, notes, queue.
    static func expectNoFile(
        under directory: String, holds secret: String, except: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let files = FileManager.default.enumerator(atPath: directory)?.compactMap { $0 as? String } ?? []
        for file in files where file != except {
            guard let data = FileManager.default.contents(atPath: directory + "/" + file) else { continue }
            #expect(!String(decoding: data, as: UTF8.self).contains(secret), "\(file)", sourceLocation: sourceLocation)
        }
    }

    /// Runs a binary like `runBinary`, killing it after `seconds`: a server that started in spite
    /// of its settings would otherwise never return.
    static func run(
        _ name: String, _ arguments: [String], root: String, within seconds: TimeInterval,
        sandbox: Sandbox
    ) throws -> ProcessOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binaryDirectory + "/" + name)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["ROOKERY_HOME"] = root
        process.environment = environment
        let (out, err) = (sandbox.path + "/stdout", sandbox.path + "/stderr")
        for file in [out, err] { _ = FileManager.default.createFile(atPath: file, contents: nil) }
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: err)
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning {
            Issue.record("\(name) \(arguments) still running after \(Int(seconds)) s")
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        func read(_ path: String) -> String { String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self) }
        return ProcessOutput(status: process.terminationStatus, stdout: read(out), stderr: read(err))
    }
}
