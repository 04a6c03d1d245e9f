import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// client-setup.sh's systemd unit for the agent, written into a sandbox directory as the crontab
/// line is (never /etc). The client binary is a stand-in that prints a fingerprint for `key`: the
/// script is what is tested here; the real binary's setup is the end-to-end tests'.
@Suite struct AgentUnitSetupTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static let fingerprint = "0123456789ABCDEF0123456789ABCDEF01234567"

    func setup(_ sandbox: Sandbox, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let fake = sandbox.path + "/fake-client"
        if !FileManager.default.fileExists(atPath: fake) { try writeExecutable("#!/bin/sh\necho \(Self.fingerprint)\n", to: fake) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments =
            [Self.repository + "/client/client-setup.sh", "--yes", "--no-packages", "--binary", sandbox.path + "/fake-client"]
            + arguments
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "ROOKERY_HOME")
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test func theUnitRunsTheAgentOfThisRootAndRestartsIt() throws {
        let sandbox = try Sandbox()
        let root = sandbox.path + "/c1"
        let units = sandbox.path + "/systemd"
        let run = try setup(sandbox, ["--root", root, "--cron-file", sandbox.path + "/cron", "--unit-dir", units])
        #expect(run.status == 0, "\(run.output)")
        let unit = try String(contentsOfFile: units + "/rookery-agent.service", encoding: .utf8)
        #expect(unit.contains("\nExecStart=\(root)/bin/rookery-client agent --wait\n"))
        #expect(unit.contains("\nEnvironment=ROOKERY_HOME=\(root)\n"))
        #expect(unit.contains("\nRestart=always\n"))
        #expect(unit.contains("\nRestartPreventExitStatus=78\n"))
        #expect(unit.contains("\nKillMode=process\n"))
        #expect(try FileManager.default.attributesOfItem(atPath: units + "/rookery-agent.service")[.posixPermissions] as? Int == 0o644)
        #expect(FileManager.default.isExecutableFile(atPath: root + "/bin/rookery-client"))
    }

    /// As the tests and quickstart call it: --no-cron leaves the machine's schedulers alone, so no
    /// unit goes to the default /etc/systemd/system either.
    @Test func noCronWritesNoUnitUnlessADirectoryIsGiven() throws {
        let sandbox = try Sandbox()
        let run = try setup(sandbox, ["--root", sandbox.path + "/c2", "--no-cron"])
        #expect(run.status == 0, "\(run.output)")
        #expect(!run.output.contains("systemd unit"))
        let unitOnly = try setup(sandbox, ["--root", sandbox.path + "/c3", "--no-cron", "--unit-dir", sandbox.path + "/u"])
        #expect(unitOnly.status == 0, "\(unitOnly.output)")
        #expect(FileManager.default.fileExists(atPath: sandbox.path + "/u/rookery-agent.service"))
    }

    /// systemd splits ExecStart at blanks and expands % and $: such a root is refused, not mangled.
    @Test func aRootTheUnitCannotNameIsRefused() throws {
        let sandbox = try Sandbox()
        let run = try setup(sandbox, ["--root", sandbox.path + "/with space", "--no-cron", "--unit-dir", sandbox.path + "/u"])
        #expect(run.status == 2)
        #expect(run.output.contains("--no-agent-unit"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/u/rookery-agent.service"))
    }
}
