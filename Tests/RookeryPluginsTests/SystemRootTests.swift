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
        let sandbox = try Sandbox(fixture: nil)
        try sandbox.root.write("/big", data: Data(repeating: 0x61, count: SystemRoot.readLimit + 10))
        try sandbox.root.write("/dir/file", "x")
        #expect(sandbox.root.readData("/big")?.count == SystemRoot.readLimit)
        #expect(sandbox.root.readFile("/missing") == nil)
        #expect(sandbox.root.readFile("/dir") == nil)
        #expect(sandbox.root.readValue("/dir/file") == "x")
    }

    @Test("a command runs at root + its path; run gives stdout only on success, execute gives the status")
    func commands() throws {
        let sandbox = try Sandbox(fixture: nil)
        try sandbox.root.writeExecutable("/usr/bin/hello", script: "echo \"hello $1 $LC_ALL\"; echo oops >&2")
        try sandbox.root.writeExecutable("/usr/bin/fails", script: "echo partial; exit 3")
        #expect(sandbox.root.run("/usr/bin/hello", ["world"]) == "hello world C\n")
        #expect(sandbox.root.run("/usr/bin/fails", []) == nil)
        let failed = sandbox.root.execute("/usr/bin/fails", [])
        #expect(failed?.status == 3)
        #expect(failed?.output == "partial\n")
        #expect(sandbox.root.run("/usr/bin/missing", []) == nil)
        try sandbox.root.write("/usr/bin/not-executable", "echo no")
        #expect(sandbox.root.run("/usr/bin/not-executable", []) == nil)
    }

    @Test("a command given only its own environment gets nothing of the plugin's")
    func ownEnvironmentOnly() throws {
        let sandbox = try Sandbox(fixture: nil)
        try sandbox.root.writeExecutable("/usr/bin/printenv", script: "exec env")
        let inherited = try #require(sandbox.root.run("/usr/bin/printenv", [], environment: ["ADDED": "1"]))
        #expect(inherited.contains("ADDED=1\n"))
        let own = try #require(
            sandbox.root.run("/usr/bin/printenv", [], environment: ["ADDED": "1", "PATH": "/bin"], inheritingEnvironment: false)
        )
        // The shell running the script may add PWD and the like; nothing else is there.
        let names = Set(own.split(separator: "\n").compactMap { $0.split(separator: "=", maxSplits: 1).first.map(String.init) })
        #expect(names.subtracting(["PWD", "OLDPWD", "SHLVL", "_"]) == ["ADDED", "PATH", "LC_ALL", "LANG"])
        #expect(own.contains("PATH=/bin\n"))
        #expect(own.contains("LC_ALL=C\n"))
    }

    @Test("output past the read limit is dropped without blocking the command")
    func outputLimit() throws {
        let sandbox = try Sandbox(fixture: nil)
        try sandbox.root.writeExecutable("/usr/bin/chatty", script: "head -c \(3 * SystemRoot.readLimit) /dev/zero")
        // A generous timeout: this is about the limit, and a loaded machine must not fail it.
        #expect(sandbox.root.run("/usr/bin/chatty", [], timeout: 60)?.utf8.count == SystemRoot.readLimit)
    }

    @Test("a command past its timeout is killed and collected")
    func timeoutKillsCommand() throws {
        let sandbox = try Sandbox(fixture: nil)
        let pidFile = sandbox.path + "/hangs.pid"
        try sandbox.root.writeExecutable("/usr/bin/hangs", script: "echo $$ > '\(pidFile)'; exec sleep 60")
        let started = Date()
        // Long enough for a loaded machine to start the script and write its pid (0.5 s was not,
        // once), far shorter than the sleep it must cut.
        #expect(sandbox.root.execute("/usr/bin/hangs", [], timeout: 3) == nil)
        #expect(Date().timeIntervalSince(started) < 30)

        let pid = try #require(try? String(contentsOfFile: pidFile, encoding: .utf8))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // Killed and waited for, so not even a zombie is left.
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(pid)"))
    }

    @Test("commands stay in the caller's process group, where the client's group kill reaches them")
    func sameProcessGroup() throws {
        let sandbox = try Sandbox(fixture: nil)
        // Field 5 of /proc/PID/stat is the process group.
        try sandbox.root.writeExecutable("/usr/bin/group", script: "cut -d ' ' -f 5 /proc/$$/stat")
        let group = try #require(sandbox.root.run("/usr/bin/group", []))
        #expect(Int32(group.trimmingCharacters(in: .whitespacesAndNewlines)) == getpgrp())
    }
}
