import Foundation
import RookeryCore
@_exported import RookeryTestSupport

/// Where `swift build` put the real binaries: $ROOKERY_BIN_DIR, or .build/debug beside this package.
let binaryDirectory: String = {
    if let dir = ProcessInfo.processInfo.environment["ROOKERY_BIN_DIR"], !dir.isEmpty { return dir }
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    return packageRoot.path + "/.build/debug"
}()

struct ProcessOutput: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs one of Rookery's binaries to completion with ROOKERY_HOME set to `root`.
@discardableResult
func runBinary(_ name: String, _ arguments: [String], root: String) throws -> ProcessOutput {
    var environment = ProcessInfo.processInfo.environment
    environment["ROOKERY_HOME"] = root
    return try runProcess(binaryDirectory + "/" + name, arguments, environment: environment)
}

/// Runs a program to completion and collects what it printed.
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> ProcessOutput {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = environment
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes before waiting, so a chatty child cannot fill one and stall.
    let stderrData = Locked(Data())
    let readingStderr = DispatchGroup()
    readingStderr.enter()
    DispatchQueue.global().async {
        let data = err.fileHandleForReading.readDataToEndOfFile()
        stderrData.withLock { $0 = data }
        readingStderr.leave()
    }
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    readingStderr.wait()
    process.waitUntilExit()
    return ProcessOutput(
        status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
        stderr: String(decoding: stderrData.current, as: UTF8.self))
}

/// server/issues.yml with one check every test client fails: the counter plugin each carries
/// reports n >= 1. `more`: further fields of the check, one per line.
func counterSeenChecks(_ more: String = "") -> String {
    """
    checks:
      - name: counter-seen
        description: The counter plugin reported
        condition:
          path: plugins.counter.n
          greater_than: 0
        grace: 0

    """ + more.split(separator: "\n").map { "    \($0)\n" }.joined()
}

/// The real `rookery server`, started in the background on an ephemeral port of 127.0.0.1.
final class ServerProcess: Sendable {
    let root: String
    /// What a test sets before `start()`, and what `start()` sets; devices on other threads read
    /// `port` while a test restarts the server.
    private struct State {
        var port = 0
        var onSettingsPorts = false
        var extraArguments: [String] = []
        var process: Process?
    }
    private let state = Locked(State())

    var port: Int { state.current.port }

    /// Listen on the ports the settings name (`port` is then the first), not on `--port` alone.
    var onSettingsPorts: Bool {
        get { state.current.onSettingsPorts }
        set { state.withLock { $0.onSettingsPorts = newValue } }
    }

    /// More arguments for `rookery server`.
    var extraArguments: [String] {
        get { state.current.extraArguments }
        set { state.withLock { $0.extraArguments = newValue } }
    }

    private var process: Process? { state.current.process }

    /// The PostgreSQL database the server uses; nil: the SQLite file.
    let postgres: SharedPostgresDatabase?

    init(sandbox: Sandbox, postgres: SharedPostgresDatabase? = nil) throws {
        root = sandbox.path + "/srv"
        try sandbox.write(
            "listen_host: 127.0.0.1\nlisten_port: 0\n" + (postgres?.settingsLines ?? ""), to: "srv/server/settings.yml")
        self.postgres = postgres ?? sandbox.postgresDatabase(ofRoot: root)
    }

    /// A server in `sandbox`, already listening.
    static func started(in sandbox: Sandbox, postgres: SharedPostgresDatabase? = nil) throws -> ServerProcess {
        let server = try ServerProcess(sandbox: sandbox, postgres: postgres)
        try server.start()
        return server
    }

    /// Starts the server; on a restart it asks for the port it had before.
    func start() throws {
        let arguments =
            ["--log-level", "warning"]
            + (onSettingsPorts ? [] : ["--port", "\(port)"])
            // Before extraArguments, so that a test's own --verify-with wins.
            + (ProcessInfo.processInfo.environment["ROOKERY_TEST_VERIFY_WITH"].map { ["--verify-with", $0] } ?? [])
            + extraArguments
        let started: (process: Process, port: Int)
        do {
            started = try ServerLauncher.start(
                binary: binaryDirectory + "/rookery", root: root, arguments: arguments,
                standardError: try appendingLog())
        } catch {
            // The log's last lines, so that a failure seen only in CI says why.
            let log = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
            throw SettingsError("\(error); the log ends: \(log.split(separator: "\n").suffix(5).joined(separator: " | "))")
        }
        state.withLock {
            $0.process = started.process
            $0.port = started.port
        }
    }

    /// Where the server's log (its standard error) goes, across restarts.
    var logFile: String { root + "/server.log" }

    private func appendingLog() throws -> FileHandle {
        if !FileManager.default.fileExists(atPath: logFile) {
            _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        }
        guard let handle = FileHandle(forWritingAtPath: logFile) else { throw SettingsError("cannot write \(logFile)") }
        handle.seekToEndOfFile()
        return handle
    }

    /// Stops the server the hard way: nothing gets a chance to finish cleanly.
    func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Asks the server to stop (SIGTERM, as systemd does); true if it exited within `seconds`.
    func terminate(within seconds: TimeInterval) -> Bool {
        guard let process, process.isRunning else { return true }
        process.terminate()
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        return !process.isRunning
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// How the server process ended; nil while it runs.
    var exitStatus: Int32? { process.flatMap { $0.isRunning ? nil : $0.terminationStatus } }

    /// The server's process id, to read its memory and CPU time from /proc (see `ProcessTree`).
    var pid: Int32 { process?.processIdentifier ?? 0 }

    /// Runs an admin command against this server's install root.
    func admin(_ arguments: [String]) throws -> ProcessOutput {
        try runBinary("rookery", arguments, root: root)
    }

    /// A count straight from the database (the SQLite file, or PostgreSQL), to check what the
    /// server stored.
    func count(_ sql: String) throws -> Int {
        Int(try self.sql(sql)) ?? -1
    }

    /// SQL run on the server's database as an operator with access to it could (sqlite3 or
    /// psql); what it printed, a row per line.
    @discardableResult
    func sql(_ statements: String) throws -> String {
        if let postgres { return try postgres.text(statements) }
        let output = try runProcess("/usr/bin/sqlite3", [root + "/var/server/rookery.sqlite", statements], environment: [:])
        guard output.status == 0 else { throw SettingsError("sqlite3: \(output.stderr)") }
        return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// What the database holds: every byte of SQLite's file, its WAL and shared-memory index (free
    /// pages included); PostgreSQL's rows as pg_dump writes them (see docs/security.md for the
    /// old row versions a PostgreSQL table keeps until VACUUM).
    func rawDatabase() throws -> Data {
        if let postgres { return try postgres.dump() }
        let base = root + "/var/server/rookery.sqlite"
        return ["", "-wal", "-shm", "-journal"].reduce(into: Data()) { all, suffix in
            all += FileManager.default.contents(atPath: base + suffix) ?? Data()
        }
    }

    /// A client enrolled and accepted on this server, with `collections` collections queued.
    func acceptedClient(sandbox: Sandbox, name: String, collections: Int, settings: String = "") throws -> ClientRoot {
        let client = try ClientRoot(sandbox: sandbox, name: name, serverURL: url, settings: settings)
        guard try client.run("enroll").status == 0, try admin(["clients", "accept", name]).status == 0 else {
            throw SettingsError("\(name) could not enroll and be accepted")
        }
        for _ in 0..<collections { try client.run("collect") }
        guard client.queued().count == collections else { throw SettingsError("\(name) did not queue \(collections)") }
        return client
    }

    /// Waits (up to a minute) until the server stored at least `count` submissions.
    func waitForSubmissions(atLeast count: Int) {
        let deadline = Date().addingTimeInterval(60)
        while (try? self.count("SELECT count(*) FROM submissions")) ?? 0 < count, Date() < deadline { usleep(5_000) }
    }

    deinit { kill() }
}

/// A client install root: settings, a tiny system root for the built-in plugins, and an external
/// plugin that counts collections so every collection differs.
struct ClientRoot {
    let root: String
    let name: String

    /// `settings`: more lines for client/settings.yml.
    init(sandbox: Sandbox, name: String, serverURL: String, settings: String = "") throws {
        root = sandbox.path + "/" + name
        self.name = name
        try sandbox.write(
            """
            server_url: \(serverURL)
            hostname: \(name)
            collect_interval: 3600
            submit_interval: 3600
            plugin_timeout: 20
            request_timeout: 10
            system_root: \(root)/system

            """ + settings + Self.agentOff(unless: settings), to: name + "/client/settings.yml")
        try sandbox.write("machine-\(name)\n", to: name + "/system/etc/machine-id")
        try sandbox.write(
            "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
            to: name + "/system/etc/os-release")
        try sandbox.write(Self.counterPlugin, to: name + "/client/plugins/counter.sh", mode: 0o755)
    }

    /// cron starts the remote shell's agent on an accepted device; a test wants it only when it
    /// says so (`agent: true`).
    static func agentOff(unless settings: String) -> String {
        settings.split(separator: "\n").contains { $0.hasPrefix("agent:") } ? "" : "agent: false\n"
    }

    /// A root that something else set up (client-setup.sh).
    init(setUpIn root: String, name: String) {
        self.root = root
        self.name = name
    }

    /// A plugin that counts collections, so every collection differs.
    static let counterPlugin = """
        #!/bin/sh
        n=$(cat "$ROOKERY_HOME/var/client/counter" 2>/dev/null || echo 0)
        n=$((n + 1))
        echo "$n" > "$ROOKERY_HOME/var/client/counter"
        echo "{\\"n\\": $n}"
        """

    @discardableResult
    func run(_ arguments: String...) throws -> ProcessOutput {
        try runBinary("rookery-client", arguments, root: root)
    }

    func queued() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/var/client/collected")) ?? [])
            .filter { $0.hasSuffix(".json") }.sorted()
    }
}
