import Foundation
import Testing

/// A one-time command that fails is tried `command_max_failures` times, and every run counts even
/// when its collection cannot be queued (a full disk): it must not run forever.
@Suite struct CommandRetryEndToEndTests {
    @Test func failedRunsCountWhileTheQueueCannotBeWritten() throws {
        let sandbox = try Sandbox()
        let client = try ClientRoot(
            sandbox: sandbox, name: "desk", serverURL: "http://127.0.0.1:9",
            settings: "command_max_failures: 3\n")
        let runs = client.root + "/runs"
        try sandbox.write("#!/bin/sh\necho run >> \(runs)\nexit 1\n", to: "desk/client/commands/flaky", mode: 0o755)
        // The queue's directory cannot be made: every collection fails after its commands ran.
        try sandbox.write("not a directory", to: "desk/var/client/collected")

        for _ in 0..<4 {
            #expect(try client.run("collect").status != 0)
        }
        let ran = (try? String(contentsOfFile: runs, encoding: .utf8)) ?? ""
        #expect(ran.split(separator: "\n").count == 3, "ran \(ran.split(separator: "\n").count) times")

        // Once the queue works, the give-up is delivered and the command removed, without a run.
        try FileManager.default.removeItem(atPath: client.root + "/var/client/collected")
        #expect(try client.run("collect").status == 0)
        #expect(!FileManager.default.fileExists(atPath: client.root + "/client/commands/flaky"))
        let queued = try #require(client.queued().first)
        let item = try String(contentsOfFile: client.root + "/var/client/collected/" + queued, encoding: .utf8)
        #expect(item.contains("\"gave_up\":true") && item.contains("\"attempts\":3"), "\(item)")
        #expect(((try? String(contentsOfFile: runs, encoding: .utf8)) ?? "").split(separator: "\n").count == 3)
    }
}
