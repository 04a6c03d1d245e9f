import Foundation
import RookeryCore

/// A server with remote shells on (pipe_create open to 127.0.0.1), an accepted device whose shell
/// account is this test's own user in its sandboxed passwd, and ways to run the device's agent and
/// the admin's `client_shell`.
final class ShellFixture {
    let sandbox: Sandbox
    let server: ServerProcess
    let device: ClientRoot
    private var agent: Process?

    static let serverSettings = """
        listen_host: 127.0.0.1
        listen_port: 0
        remote_shells: true
        endpoint_auth:
          pipe_create:
            ip_ranges: [127.0.0.1]

        """

    /// `deviceSettings`: more lines for the device's client/settings.yml; `agent`: whether the
    /// device may run its agent (cron starts it when it may).
    /// `serverSettings`: the server's whole settings file.
    init(deviceSettings: String = "", agent: Bool = true, serverSettings: String = ShellFixture.serverSettings) throws {
        sandbox = try Sandbox()
        server = try ServerProcess(sandbox: sandbox)
        try sandbox.write(serverSettings, to: "srv/server/settings.yml")
        try server.start()
        let home = sandbox.path + "/laptop/home"
        device = try server.acceptedClient(
            sandbox: sandbox, name: "laptop", collections: 0,
            settings: "shell_account: tester\nshell_reconnect_seconds: 10\nagent: \(agent)\n" + deviceSettings)
        // The device pins the server's key, as its release would: it checks the signed offers with it.
        try FileManager.default.copyItem(
            atPath: server.root + "/server/server-key.asc", toPath: device.root + "/client/server-key.asc")
        // The shell account: this process's own user, named in the device's sandboxed system root.
        try sandbox.write(
            "tester:x:\(getuid()):\(getgid()):Tester:\(home):/bin/sh\n", to: "laptop/system/etc/passwd")
        try sandbox.write("tester:x:\(getgid()):\n", to: "laptop/system/etc/group")
        try sandbox.write("PS1='shell-ready$ '\nexport PS1\n", to: "laptop/home/.profile")
    }

    deinit {
        stopAgent()
        server.kill()
    }

    /// Starts `rookery-client agent` on the device.
    func startAgent(serverURL: String? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binaryDirectory + "/rookery-client")
        process.arguments = ["agent"]
        process.environment = ProcessInfo.processInfo.environment.merging(["ROOKERY_HOME": device.root]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        agent = process
    }

    func stopAgent() {
        guard let agent, agent.isRunning else { return }
        agent.terminate()
        agent.waitUntilExit()
    }

    var adminEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.merging(["ROOKERY_HOME": server.root, "TERM": "xterm"]) { $1 }
    }

    /// `bin/client_shell` on a terminal of the test's own.
    func interactiveShell(_ extra: [String] = []) throws -> TerminalDriver {
        try TerminalDriver(
            binaryDirectory + "/rookery",
            ["client-shell", "laptop", "--server", server.url, "--reconnect-seconds", "3"] + extra,
            environment: adminEnvironment)
    }

    /// `bin/client_shell --command`, to completion.
    func command(_ command: String, _ extra: [String] = []) throws -> ProcessOutput {
        try runProcess(
            binaryDirectory + "/rookery",
            ["client-shell", "laptop", "--server", server.url, "--command", command, "--wait", "60"] + extra,
            environment: adminEnvironment)
    }

    /// What the device logged about its sessions (every file under var/client that names `sessionID`).
    func deviceLog(naming text: String) -> String {
        let base = device.root + "/var/client"
        let files = FileManager.default.enumerator(atPath: base)?.compactMap { $0 as? String } ?? []
        return files.compactMap { try? String(contentsOfFile: base + "/" + $0, encoding: .utf8) }
            .filter { $0.contains(text) }.joined(separator: "\n")
    }

    /// The session id `client_shell` said it waits on.
    static func sessionID(in shown: String) -> String? {
        guard let range = shown.range(of: "session ") else { return nil }
        let id = shown[range.upperBound...].prefix(32)
        return ShellOffer.isSessionID(String(id)) ? String(id) : nil
    }
}
