import Foundation
import RookeryCore
import RookeryServer
import RookeryTestSupport

/// `bin/bench shell`: the remote shell as an admin feels it, on loopback with the release binaries:
/// how long from `client_shell HOST` to the prompt (with the agent, and from a `client-cron` run
/// without it), the keystroke round trip, the throughput of a large `cat`, and the agent's memory.
struct ShellBenchmark {
    let clientBinary: String
    let sessions: Int
    let keystrokes: Int
    let catBytes: Int
    /// Idle polls the agent makes (5 s apart) between the two readings of its memory.
    let idlePolls: Int
    /// Cats of the file, the throughput being their median.
    static let catRuns = 3

    struct Result {
        var promptWithAgentMs: [Double] = []
        var promptFromCronMs: [Double] = []
        var keystrokeMs: [Double] = []
        var catMB = 0.0
        var catMBPerSecond: [Double] = []
        var agentStart = AgentMemory()
        var agentEnd = AgentMemory()
        var agentPolls = 0

        var text: String {
            String(
                format: """
                    request to prompt, with the agent:  median %.0f ms, max %.0f ms (%d sessions)
                    request to prompt, from a cron run: median %.0f ms, max %.0f ms (from the update a cron run makes; cron runs every minute: add 0-60 s)
                    keystroke round trip:               median %.2f ms, p99 %.2f ms (%d keys)
                    cat of a file, %.0f MB:              median %.1f MB/s, min %.1f, max %.1f (%d runs)

                    """, median(promptWithAgentMs), promptWithAgentMs.max() ?? 0, promptWithAgentMs.count,
                median(promptFromCronMs), promptFromCronMs.max() ?? 0, median(keystrokeMs), percentile(keystrokeMs, 0.99),
                keystrokeMs.count, catMB, median(catMBPerSecond), catMBPerSecond.min() ?? 0, catMBPerSecond.max() ?? 0,
                catMBPerSecond.count)
                + "agent memory after start:           \(agentStart.text)\n"
                + "agent memory after \(agentPolls) idle polls:   \(agentEnd.text)"
        }

        var json: String {
            JSONValue.object([
                "prompt_with_agent_median_ms": .number(median(promptWithAgentMs)),
                "prompt_from_cron_median_ms": .number(median(promptFromCronMs)),
                "keystroke_median_ms": .number(median(keystrokeMs)),
                "keystroke_p99_ms": .number(percentile(keystrokeMs, 0.99)),
                "cat_mb_per_s": .number(median(catMBPerSecond)),
                "agent_rss_start_kb": .integer(Int64(agentStart.residentKB)),
                "agent_rss_end_kb": .integer(Int64(agentEnd.residentKB)),
                "agent_private_end_kb": .integer(Int64(agentEnd.privateKB)),
                "agent_pss_end_kb": .integer(Int64(agentEnd.proportionalKB)),
                "agent_idle_polls": .integer(Int64(agentPolls))
            ]).serializedString
        }

        func median(_ values: [Double]) -> Double { percentile(values, 0.5) }

        func percentile(_ values: [Double], _ fraction: Double) -> Double {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return 0 }
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
        }
    }

    /// The server on a scratch database of this cluster instead of SQLite.
    var postgres: BenchPostgres?

    func run() async throws -> Result {
        guard let postgres else { return try await run(databaseSettings: []) }
        return try await postgres.withScratchDatabase { database in
            try await run(databaseSettings: postgres.settings(for: database))
        }
    }

    private func run(databaseSettings: [String]) async throws -> Result {
        let scratch = try BenchScratch()
        defer { scratch.cleanUp() }
        let server = try BenchServer(
            root: scratch.path + "/srv",
            extraSettings: [
                "remote_shells: true", "agent_poll_seconds: 5", "endpoint_auth: {pipe_create: {ip_ranges: [127.0.0.1]}}"
            ] + databaseSettings)
        defer { server.stop() }
        let device = try await BenchShellDevice(scratch: scratch, server: server, clientBinary: clientBinary)
        var result = Result()
        let admin = try ShellAdmin(serverRoot: server.root, serverURL: server.url)

        let agent = try device.startAgent()
        defer { agent.terminate() }
        usleep(500_000)
        result.agentStart = AgentMemory(pid: agent.processIdentifier)
        for _ in 0..<sessions {
            let (terminal, ms) = try admin.timedPrompt()
            result.promptWithAgentMs.append(ms)
            terminal.type("exit\r")
            _ = terminal.exitStatus()
        }
        let terminal = try admin.timedPrompt().terminal
        result.keystrokeMs = try Self.keystrokes(keystrokes, on: terminal)
        terminal.type("exit\r")
        _ = terminal.exitStatus()
        result.catMB = Double(catBytes) / 1e6
        let file = try device.makeFile(bytes: catBytes)
        for _ in 0..<Self.catRuns { result.catMBPerSecond.append(try admin.catThroughput(file: file, bytes: catBytes)) }
        // Idle polls: the server answers each after agent_poll_seconds (5 s here).
        result.agentPolls = idlePolls
        sleep(UInt32(5 * idlePolls + 2))
        result.agentEnd = AgentMemory(pid: agent.processIdentifier)
        agent.terminate()
        agent.waitUntilExit()

        for _ in 0..<min(sessions, 3) {
            let terminal = try admin.start()
            guard terminal.waitFor("waiting for", seconds: 20) else { throw AdminError("client_shell did not start: \(terminal.shown)") }
            let started = Date()
            try device.runUpdate()
            guard terminal.waitFor(BenchShellDevice.prompt, seconds: 60) else { throw AdminError("no prompt from cron: \(terminal.shown)") }
            result.promptFromCronMs.append(Date().timeIntervalSince(started) * 1000)
            terminal.type("exit\r")
            _ = terminal.exitStatus()
        }
        return result
    }

    /// Types one character at a time and times until its echo is shown.
    static func keystrokes(_ count: Int, on terminal: TerminalDriver) throws -> [Double] {
        var times: [Double] = []
        for index in 0..<count {
            let before = terminal.shown.utf8.count
            let key = String(UnicodeScalar(UInt8(ascii: "a") + UInt8(index % 26)))
            let started = DispatchTime.now().uptimeNanoseconds
            terminal.type(key)
            while terminal.shown.utf8.count == before {
                guard DispatchTime.now().uptimeNanoseconds - started < 10_000_000_000 else {
                    throw AdminError("keystroke \(index) was not echoed in 10 s")
                }
                usleep(50)
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6)
        }
        terminal.type("\u{15}")  // ^U: the line typed is dropped
        return times
    }

}

/// The admin's `rookery client-shell` against the bench server, on a terminal of the bench's own.
struct ShellAdmin {
    let serverRoot: String
    let serverURL: String
    let binary: String

    init(serverRoot: String, serverURL: String) throws {
        self.serverRoot = serverRoot
        self.serverURL = serverURL
        binary = try BenchServer.rookeryBinary()
    }

    var environment: [String: String] {
        ProcessInfo.processInfo.environment.merging(["ROOKERY_HOME": serverRoot, "TERM": "xterm"]) { $1 }
    }

    func start(_ extra: [String] = []) throws -> TerminalDriver {
        try TerminalDriver(binary, ["client-shell", BenchShellDevice.hostname, "--server", serverURL] + extra, environment: environment)
    }

    func timedPrompt() throws -> (terminal: TerminalDriver, ms: Double) {
        let started = Date()
        let terminal = try start()
        guard terminal.waitFor(BenchShellDevice.prompt, seconds: 30) else { throw AdminError("no prompt: \(terminal.shown)") }
        return (terminal, Date().timeIntervalSince(started) * 1000)
    }

    /// `client_shell --command 'cat FILE'` into a pipe: MB/s from the first byte to the last.
    func catThroughput(file: String, bytes: Int) throws -> Double {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["client-shell", BenchShellDevice.hostname, "--server", serverURL, "--command", "cat \(file)"]
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let reader = pipe.fileHandleForReading
        var received = 0
        var first: Date?
        while true {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            if first == nil { first = Date() }
            received += chunk.count
        }
        let seconds = Date().timeIntervalSince(first ?? Date())
        process.waitUntilExit()
        // A terminal turns each \n into \r\n: more arrives than the file holds.
        guard received >= bytes else { throw AdminError("cat delivered \(received) of \(bytes) bytes") }
        return Double(received) / 1e6 / max(seconds, 1e-6)
    }
}

/// A process's memory as the kernel counts it: all it has mapped and touched (RSS, which counts
/// shared library and program pages that other processes and the page cache share), its share of
/// those (PSS), and what it alone holds and wrote (private dirty: heap, stacks, written data).
struct AgentMemory {
    var residentKB = 0
    var proportionalKB = 0
    var privateKB = 0

    init() {}

    init(pid: Int32) {
        let rollup = (try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            guard let line = rollup.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
        }
        residentKB = field("Rss")
        proportionalKB = field("Pss")
        privateKB = field("Private_Dirty")
    }

    var text: String {
        String(
            format: "RSS %.1f MB, PSS %.1f MB, private %.1f MB", Double(residentKB) / 1024, Double(proportionalKB) / 1024,
            Double(privateKB) / 1024)
    }
}
