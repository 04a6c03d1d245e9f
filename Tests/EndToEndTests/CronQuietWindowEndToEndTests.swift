import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// The real `rookery-client cron`: an idle run leaves a quiet window, the runs after it return
/// without reading the settings, and a changed setting that makes collection due is acted on at
/// the next run.
@Suite struct CronQuietWindowEndToEndTests {
    @Test func idleRunsSkipTheSettingsAndChangedSettingsCollect() throws {
        let sandbox = try Sandbox()
        // Nothing listens on port 9: a run that tried to reach the server would fail.
        let client = try ClientRoot(sandbox: sandbox, name: "c1", serverURL: "http://127.0.0.1:9")
        let now = Int(Date().timeIntervalSince1970)
        try sandbox.write(
            "{\"enrollment\":\"accepted\",\"last_collect\":\(now),\"last_submit\":\(now),\"last_update\":\(now)}",
            to: "c1/var/client/state.json")
        let state = client.root + "/var/client"

        // The first idle run reads everything and records its window.
        let first = try client.run("cron")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(FileManager.default.fileExists(atPath: state + "/quiet-window"))
        #expect(FileManager.default.fileExists(atPath: state + "/settings.last-good.json"))

        // The next one returns before the settings: a full run would write their copy again.
        try FileManager.default.removeItem(atPath: state + "/settings.last-good.json")
        #expect(try client.run("cron").status == 0)
        #expect(!FileManager.default.fileExists(atPath: state + "/settings.last-good.json"))
        #expect(client.queued().isEmpty)

        // Collection due from now on: the next run collects (submit is not due, so nothing is sent).
        let settings = try String(contentsOfFile: client.root + "/client/settings.yml", encoding: .utf8)
        try sandbox.write(
            settings.replacingOccurrences(of: "collect_interval: 3600", with: "collect_interval: 0"),
            to: "c1/client/settings.yml")
        let due = try client.run("cron")
        #expect(due.status == 0, "\(due.stderr)")
        #expect(client.queued().count == 1)
        #expect(FileManager.default.fileExists(atPath: state + "/settings.last-good.json"))
    }
}
