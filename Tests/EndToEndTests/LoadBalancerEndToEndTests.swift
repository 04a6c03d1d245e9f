import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// The HAProxy configuration docs/scaling.md ships (server/haproxy.cfg.example), run with Debian's
/// haproxy in front of two server processes on one PostgreSQL database: devices that know only
/// the balancer's address carry on, losing nothing, while one server is stopped under their load.
@Suite struct LoadBalancerEndToEndTests {
    /// The shipped file, its example addresses swapped for this test's.
    static func configuration(frontend: Int, servers: [ServerProcess]) throws -> String {
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return try String(contentsOfFile: checkout.path + "/server/haproxy.cfg.example", encoding: .utf8)
            .replacingOccurrences(of: "192.0.2.10:8080", with: "127.0.0.1:\(frontend)")
            .replacingOccurrences(of: "192.0.2.11:8080", with: "127.0.0.1:\(servers[0].port)")
            .replacingOccurrences(of: "192.0.2.12:8080", with: "127.0.0.1:\(servers[1].port)")
    }

    @Test func devicesBehindHAProxyCarryOnWhileOneServerStops() throws {
        let haproxy = try #require(
            ProcessInfo.processInfo.environment["ROOKERY_TEST_HAPROXY"],
            "no ROOKERY_TEST_HAPROXY: run the tests through bin/test, which unpacks Debian's haproxy")
        let sandbox = try Sandbox()
        let database = try SharedPostgresDatabase()
        defer { database.drop() }
        let servers = [try ServerProcess.started(in: sandbox, postgres: database), try ServerProcess.started(in: sandbox, postgres: database)]
        let frontend = try PortsEndToEndTests.freePort()
        try sandbox.write(try Self.configuration(frontend: frontend, servers: servers), to: "haproxy.cfg")
        let checked = try runProcess(haproxy, ["-c", "-f", sandbox.path + "/haproxy.cfg"], environment: [:])
        #expect(checked.status == 0, "haproxy -c: \(checked.stdout) \(checked.stderr)")
        let balancer = try Self.start(haproxy, configuration: sandbox.path + "/haproxy.cfg", log: sandbox.path + "/haproxy.log")
        defer {
            balancer.terminate()
            balancer.waitUntilExit()
        }
        let url = "http://127.0.0.1:\(frontend)"
        try Self.waitUntilReady(url)

        let names = ["lb1", "lb2", "lb3", "lb4"]
        let devices = try names.map { name in
            let device = try ClientRoot(sandbox: sandbox, name: name, serverURL: url)
            #expect(try device.run("enroll").status == 0)
            #expect(try servers[0].admin(["clients", "accept", name]).status == 0)
            return device
        }
        // Each device collects and submits eight times; after the second round the first server
        // is told to stop (SIGTERM: /ready says 503, new connections are refused, requests in
        // flight finish), and HAProxy sends everything to the second.
        let rounds = 8
        let failures = Locked([String]())
        let finished = DispatchGroup()
        for (device, name) in zip(devices, names) {
            finished.enter()
            Thread.detachNewThread {
                defer { finished.leave() }
                for round in 0..<rounds {
                    for step in ["collect", "submit"] {
                        let ran = Result { try device.run(step) }
                        if case .success(let output) = ran, output.status == 0 { continue }
                        failures.withLock { $0.append("\(name) round \(round) \(step): \(ran)") }
                    }
                }
            }
        }
        let deadline = Date().addingTimeInterval(120)
        while try servers[1].count("SELECT count(*) FROM submissions") < 2 * devices.count, Date() < deadline { usleep(20_000) }
        #expect(servers[0].terminate(within: 30), "the first server did not stop")
        finished.wait()
        #expect(failures.current.isEmpty, "\(failures.current)")
        #expect(devices.allSatisfy { $0.queued().isEmpty }, "every collection acknowledged")
        #expect(try servers[1].count("SELECT count(*) FROM submissions") == devices.count * rounds)
        #expect(try servers[1].count("SELECT count(DISTINCT submission_id) FROM submissions") == devices.count * rounds)
        // Both servers took submissions (HAProxy's request log names the one that answered).
        let log = (try? String(contentsOfFile: sandbox.path + "/haproxy.log", encoding: .utf8)) ?? ""
        for server in ["rookery1", "rookery2"] {
            let answered = log.split(separator: "\n").filter { $0.contains("rookery_servers/\(server) ") && $0.contains("POST /rookery/v1/submit") }
            #expect(!answered.isEmpty, "\(server) took no submission:\n\(log.suffix(3000))")
        }
    }

    /// haproxy in the foreground (-db), its log (the configuration logs to stdout) in a file.
    static func start(_ haproxy: String, configuration: String, log: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: haproxy)
        process.arguments = ["-db", "-f", configuration]
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = output
        process.standardError = output
        try process.run()
        return process
    }

    /// Until the balancer answers `ready` with 200 (a server behind it is up), at most a minute.
    static func waitUntilReady(_ url: String) throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let probe = try runProcess(
                "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", url + "/rookery/v1/ready"], environment: [:])
            if probe.stdout == "200" { return }
            usleep(100_000)
        }
        throw SettingsError("HAProxy at \(url) did not answer ready within a minute")
    }
}
