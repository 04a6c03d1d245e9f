import Foundation
import RookeryCore
import RookeryServer
import Testing

/// `rookery save-password` on a sandboxed install root: the hash lands in server/settings.yml,
/// the rest of the file stays, and the server accepts what was written.
@Suite struct SavePasswordEndToEndTests {
    static let settings = """
        # Rookery server settings: comments like this one must survive.
        listen_host: 127.0.0.1
        listen_port: 0
        users:
          bob: "$pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw$L1aYbGjzdoPwxPhGrTdCzJAIXgv98gXX9F7Efjyq3Og"
        audit:
          mailto: admins@example.org   # cron mails the audit here

        """

    @Test func passwordsAreStoredServerWideAndPerEndpoint() throws {
        let sandbox = try Sandbox()
        let root = sandbox.path + "/srv"
        try sandbox.write(Self.settings, to: "srv/server/settings.yml")
        chmod(root + "/server/settings.yml", 0o640)

        let alice = try savePassword(["--stdin", "alice"], input: "correct horse\n", root: root)
        #expect(alice.status == 0, "\(alice.stderr)")
        let installer = try savePassword(
            ["--endpoint", "download_release", "--stdin", "installer"],
            input: "battery staple\n", root: root)
        #expect(installer.status == 0, "\(installer.stderr)")

        let text = try String(contentsOfFile: root + "/server/settings.yml", encoding: .utf8)
        #expect(text.hasPrefix("# Rookery server settings: comments like this one must survive.\n"))
        #expect(text.contains("  mailto: admins@example.org   # cron mails the audit here\n"))
        #expect(!text.contains("correct horse") && !text.contains("battery staple"))
        let settings = try SettingsFile.load(ServerSettings.self, from: root + "/server/settings.yml")
        #expect(settings.users["bob"]?.hasPrefix("$pbkdf2-sha256$1000$") == true, "bob is kept")
        #expect(settings.audit.mailto == "admins@example.org")
        #expect(settings.users["alice"]?.hasPrefix("$pbkdf2-sha256$29000$") == true)
        #expect(settings.endpointAuth["download_release"]?.passwords["installer"]?.hasPrefix("$pbkdf2-sha256$") == true)
        let mode = try FileManager.default.attributesOfItem(atPath: root + "/server/settings.yml")[.posixPermissions] as? Int
        #expect(mode == 0o640)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: root + "/server").sorted() == [".settings.lock", "settings.yml"],
            "no scratch copy is left behind")
        // Settings a server loads: every hash is checked then.
        #expect(try runBinary("rookery", ["clients", "list"], root: root).status == 0)
    }

    @Test func badInputIsRefusedAndChangesNothing() throws {
        let sandbox = try Sandbox()
        let root = sandbox.path + "/srv"
        try sandbox.write(Self.settings, to: "srv/server/settings.yml")
        let cases: [([String], String, Int32)] = [
            (["--stdin", "al ice"], "pw\n", 64),
            (["--stdin", "--endpoint", "submit", "alice"], "pw\n", 64),
            (["--stdin", "alice"], "\n", 65),
            (["--stdin", "alice"], String(repeating: "x", count: 1025) + "\n", 65),  // over the 1024-byte limit
            (["alice"], "pw\n", 64)  // no terminal to prompt on
        ]
        for (arguments, input, status) in cases {
            let ran = try savePassword(arguments, input: input, root: root)
            #expect(ran.status == status, "\(arguments): \(ran.stderr)")
        }
        #expect(try String(contentsOfFile: root + "/server/settings.yml", encoding: .utf8) == Self.settings)
    }

    @Test func aFlowStyleBlockIsLeftAloneWithTheLineToAddByHand() throws {
        let sandbox = try Sandbox()
        let root = sandbox.path + "/srv"
        let flow = "endpoint_auth: {download_release: {ip_ranges: [10.0.0.0/8], mandatory: true}}\n"
        try sandbox.write(flow, to: "srv/server/settings.yml")
        let ran = try savePassword(["--endpoint", "download_release", "--stdin", "installer"], input: "pw\n", root: root)
        #expect(ran.status == 1, "\(ran.stdout)")
        #expect(ran.stderr.contains("installer: \"$pbkdf2-sha256$"), "\(ran.stderr)")
        #expect(try String(contentsOfFile: root + "/server/settings.yml", encoding: .utf8) == flow)
    }

    private func savePassword(_ arguments: [String], input: String, root: String) throws -> ProcessOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binaryDirectory + "/rookery")
        process.arguments = ["save-password"] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["ROOKERY_HOME"] = root
        process.environment = environment
        let stdin = Pipe()
        let out = Pipe()
        let err = Pipe()
        process.standardInput = stdin
        process.standardOutput = out
        process.standardError = err
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessOutput(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }
}
