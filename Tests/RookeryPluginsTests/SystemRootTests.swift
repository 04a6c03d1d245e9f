import Foundation
import Testing
@testable import RookeryPlugins

@Suite("SystemRoot")
struct SystemRootTests {
    @Test("absolute paths are taken inside the root")
    func resolve() {
        #expect(SystemRoot(path: "/").resolve("/etc/passwd") == "/etc/passwd")
        #expect(SystemRoot(path: "/tmp/fixture").resolve("/etc/passwd") == "/tmp/fixture/etc/passwd")
        #expect(SystemRoot(path: "/tmp/fixture/").resolve("/etc/passwd") == "/tmp/fixture/etc/passwd")
        #expect(SystemRoot(path: "/").isHostRoot)
        #expect(!SystemRoot(path: "/tmp/fixture").isHostRoot)
    }

    @Test("reads stop at the limit; missing files and directories read as nil")
    func readLimit() throws {
        let sandbox = try Sandbox()
        try sandbox.write("/big", data: Data(repeating: 0x61, count: SystemRoot.readLimit + 10))
        try sandbox.write("/dir/file", "x")
        #expect(sandbox.root.readData("/big")?.count == SystemRoot.readLimit)
        #expect(sandbox.root.readFile("/missing") == nil)
        #expect(sandbox.root.readFile("/dir") == nil)
        #expect(sandbox.root.readValue("/dir/file") == "x")
    }

    @Test("a command runs at root + its path; run gives stdout only on success, execute gives the status")
    func commands() throws {
        let sandbox = try Sandbox()
        try sandbox.writeExecutable("/usr/bin/hello", script: "echo \"hello $1 $LC_ALL\"; echo oops >&2")
        try sandbox.writeExecutable("/usr/bin/fails", script: "echo partial; exit 3")
        #expect(sandbox.root.run("/usr/bin/hello", ["world"]) == "hello world C\n")
        #expect(sandbox.root.run("/usr/bin/fails", []) == nil)
        let failed = sandbox.root.execute("/usr/bin/fails", [])
        #expect(failed?.status == 3)
        #expect(failed?.output == "partial\n")
        #expect(sandbox.root.run("/usr/bin/missing", []) == nil)
        try sandbox.write("/usr/bin/not-executable", "echo no")
        #expect(sandbox.root.run("/usr/bin/not-executable", []) == nil)
    }

    @Test("output past the read limit is dropped without blocking the command")
    func outputLimit() throws {
        let sandbox = try Sandbox()
        try sandbox.writeExecutable("/usr/bin/chatty", script: "head -c \(3 * SystemRoot.readLimit) /dev/zero")
        #expect(sandbox.root.run("/usr/bin/chatty", [])?.utf8.count == SystemRoot.readLimit)
    }

    @Test("a command past its timeout is killed with everything it started")
    func timeoutKillsProcessGroup() throws {
        let sandbox = try Sandbox()
        let pidFile = sandbox.directory.appendingPathComponent("sleeper.pid").path
        try sandbox.writeExecutable("/usr/bin/hangs", script: "sleep 60 & echo $! > '\(pidFile)'; wait")
        let started = Date()
        #expect(sandbox.root.execute("/usr/bin/hangs", [], timeout: 0.5) == nil)
        #expect(Date().timeIntervalSince(started) < 10)

        let sleeper = try #require(try? String(contentsOfFile: pidFile, encoding: .utf8))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // Killed processes may linger a moment as zombies until reaped; wait for that.
        var stillRunning = true
        for _ in 0..<50 where stillRunning {
            stillRunning = isRunning(pid: sleeper)
            if stillRunning { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(!stillRunning)
    }

    /// Alive and not a zombie, judged from the host's /proc/PID/stat ("PID (comm) STATE ...").
    private func isRunning(pid: String) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let afterName = stat.range(of: ") ", options: .backwards)
        else { return false }
        return stat[afterName.upperBound...].first != "Z"
    }
}
