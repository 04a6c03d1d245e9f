import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryClient

@Suite struct PluginRunnerTests {
    let temporary: Sandbox
    let log: ClientLog
    var dir: String { temporary.path }

    init() throws {
        temporary = try Sandbox()
        log = ClientLog(path: temporary.path + "/client.log", echoWarnings: false)
    }

    func script(_ name: String, _ body: String) throws -> PluginSpec {
        let path = dir + "/" + name
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return PluginSpec(name: (name as NSString).deletingPathExtension, executable: path, arguments: [])
    }

    @Test func timeoutKillsTheWholeProcessGroup() throws {
        // The plugin leaves a grandchild behind and hangs; both must be gone after the timeout.
        let spec = try script("hang.sh", "sleep 300 & echo $! > \(dir)/child.pid; sleep 300")
        let result = try PluginProcess.run(executable: spec.executable, arguments: [], environment: [:], timeout: 0.5)
        #expect(result.ending == .timedOut)
        let childText = try String(contentsOfFile: dir + "/child.pid", encoding: .utf8)
        let child = try #require(Int32(childText.trimmingCharacters(in: .whitespacesAndNewlines)))
        // Reaped by init or a zombie at worst; never still sleeping.
        usleep(100_000)
        let state = (try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8))?
            .split(separator: ")").last?.split(separator: " ").first
        #expect(state == nil || state == "Z")
    }

    @Test func exitCodeAndOutputAreReported() throws {
        let spec = try script("fail.sh", "echo partial; echo oops >&2; exit 7")
        let result = try PluginProcess.run(executable: spec.executable, arguments: [], environment: [:], timeout: 5)
        #expect(result.ending == .exited(7))
        #expect(String(decoding: result.stdout, as: UTF8.self) == "partial\n")
        #expect(String(decoding: result.stderr, as: UTF8.self) == "oops\n")
    }

    @Test func oneBrokenPluginNeverStopsTheOthers() throws {
        let plugins = [
            try script("good.sh", #"echo '{"ok": true}'"#),
            try script("garbage.sh", "echo not json"),
            try script("crash.sh", "kill -SEGV $$"),
            try script("failing.sh", "exit 3"),
            try script("slow.sh", "sleep 60"),
            try script("env.sh", #"echo "{\"home\": \"$ROOKERY_HOME\"}""#)
        ]
        let runner = PluginRunner(timeout: 1, parallelism: 3, environment: ["ROOKERY_HOME": "/r"], log: log)
        let results = runner.run(plugins)
        #expect(results["good"] == .object(["ok": .bool(true)]))
        #expect(results["env"] == .object(["home": .string("/r")]))
        for broken in ["garbage", "crash", "failing", "slow"] {
            #expect(results[broken] == .string("unknown"), "\(broken)")
        }
        let logText = try String(contentsOfFile: dir + "/client.log", encoding: .utf8)
        #expect(logText.contains("plugin slow killed after 1 s"))
        #expect(logText.contains("plugin failing exited 3"))
    }

    @Test func discoveryFindsExecutablesAndLetsThemReplaceBuiltins() throws {
        let pluginDir = dir + "/plugins"
        try FileManager.default.createDirectory(atPath: pluginDir, withIntermediateDirectories: true)
        try "#!/bin/sh\necho 1\n".write(toFile: pluginDir + "/custom.py", atomically: true, encoding: .utf8)
        try "#!/bin/sh\necho 1\n".write(toFile: pluginDir + "/os_info.sh", atomically: true, encoding: .utf8)
        try "not executable".write(toFile: pluginDir + "/notes.txt", atomically: true, encoding: .utf8)
        for file in ["custom.py", "os_info.sh"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: pluginDir + "/" + file)
        }
        let specs = PluginRunner.discover(
            pluginDirectories: [pluginDir], selfExecutable: "/bin/rookery-client",
            systemRoot: "/", stateDirectory: dir)
        let byName = Dictionary(uniqueKeysWithValues: specs.map { ($0.name, $0) })
        #expect(byName["custom"]?.executable == pluginDir + "/custom.py")
        #expect(byName["os_info"]?.executable == pluginDir + "/os_info.sh")
        #expect(byName["notes"] == nil)
    }
}
