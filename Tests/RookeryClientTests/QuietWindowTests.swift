import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryClient

/// The quiet window lets an idle `client-cron` return without reading its settings; it must say
/// "nothing due" exactly when a full run would, and never once a file it was drawn from changed.
@Suite struct QuietWindowTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func state(_ enrollment: ClientState.Enrollment, collect: Double, submit: Double, update: Double?) -> ClientState {
        var state = ClientState()
        state.enrollment = enrollment
        state.lastCollect = t0.addingTimeInterval(collect)
        state.lastSubmit = t0.addingTimeInterval(submit)
        state.lastUpdate = update.map { t0.addingTimeInterval($0) }
        return state
    }

    @Test func windowIsWhereCronFindsNothingDue() throws {
        var settings = ClientSettings()
        (settings.collectInterval, settings.submitInterval, settings.updateInterval) = (300, 60, 120)
        for enrollment in [ClientState.Enrollment.accepted, .pending] {
            let state = state(enrollment, collect: -200, submit: -10, update: -100)
            let window = try #require(QuietWindow(settings: settings, state: state, stamps: []))
            // Every second from well before the last run (a clock set back) to past every timer.
            for offset in stride(from: -120.0, through: 400, by: 0.5) {
                let now = t0.addingTimeInterval(offset)
                let due =
                    CronRun.isDue(state.lastCollect, every: settings.collectInterval, now: now)
                    || CronRun.isDue(state.lastSubmit, every: settings.submitInterval, now: now)
                    || (enrollment == .accepted && CronRun.isDue(state.lastUpdate, every: settings.updateInterval, now: now))
                let quiet = window.from <= now.timeIntervalSince1970 && now.timeIntervalSince1970 < window.until
                #expect(quiet == !due, "\(enrollment) at t0\(offset >= 0 ? "+" : "")\(offset)")
            }
        }
        // A timer that never ran is always due: no window.
        #expect(QuietWindow(settings: settings, state: state(.accepted, collect: 0, submit: 0, update: nil), stamps: []) == nil)
        #expect(QuietWindow(settings: settings, state: state(.pending, collect: 0, submit: 0, update: nil), stamps: []) != nil)
    }

    /// A device root whose last runs were at t0, with hour-long intervals.
    func quietRoot(_ sandbox: Sandbox) throws -> InstallRoot {
        try sandbox.write(
            "server_url: http://127.0.0.1:9\ncollect_interval: 3600\nsubmit_interval: 3600\n",
            to: "r/client/settings.yml")
        let last = Int(t0.timeIntervalSince1970)
        try sandbox.write(
            "{\"enrollment\":\"accepted\",\"last_collect\":\(last),\"last_submit\":\(last),\"last_update\":\(last)}",
            to: "r/var/client/state.json")
        return InstallRoot(path: sandbox.path + "/r")
    }

    /// Runs cron's full path at `now` as the command does: stamps first, then the context.
    func fullRun(_ root: InstallRoot, at now: Date) throws -> CronRun.Outcome {
        let stamps = QuietWindow.stamps(root)
        return try CronRun(context: try ClientContext(root: root, interactive: false)).run(now: now, stamps: stamps)
    }

    @Test func idleRunRecordsWindowThatChangedFilesVoid() throws {
        let sandbox = try Sandbox()
        let root = try quietRoot(sandbox)
        #expect(!QuietWindow.covers(t0, root: root))
        #expect(try fullRun(root, at: t0.addingTimeInterval(10)) == .nothingDue)

        #expect(QuietWindow.covers(t0.addingTimeInterval(20), root: root))
        #expect(QuietWindow.covers(t0.addingTimeInterval(-60), root: root))
        // Due again: update after its default 300 s, or the clock set back over a minute.
        #expect(!QuietWindow.covers(t0.addingTimeInterval(300), root: root))
        #expect(!QuietWindow.covers(t0.addingTimeInterval(-61), root: root))

        // The same settings written again: a new file, so the full path decides.
        let settings = try String(contentsOfFile: root.clientSettings, encoding: .utf8)
        try sandbox.write(settings, to: "r/client/settings.yml")
        #expect(!QuietWindow.covers(t0.addingTimeInterval(20), root: root))
        #expect(try fullRun(root, at: t0.addingTimeInterval(20)) == .nothingDue)
        #expect(QuietWindow.covers(t0.addingTimeInterval(30), root: root))

        // A release's settings appearing, and the state rewritten, each void it too.
        try sandbox.write("server_url: http://127.0.0.1:9\n", to: "r/client/release.yml")
        #expect(!QuietWindow.covers(t0.addingTimeInterval(30), root: root))
        #expect(try fullRun(root, at: t0.addingTimeInterval(30)) == .nothingDue)
        let context = try ClientContext(root: root, interactive: false)
        try context.save(context.loadState())
        #expect(!QuietWindow.covers(t0.addingTimeInterval(40), root: root))
    }

    @Test func noWindowFromRefusedSettingsOrDamagedFile() throws {
        let sandbox = try Sandbox()
        let root = try quietRoot(sandbox)
        #expect(try fullRun(root, at: t0.addingTimeInterval(10)) == .nothingDue)
        let windowFile = QuietWindow.path(root)
        let text = try String(contentsOfFile: windowFile, encoding: .utf8)

        // Cut short, the file is not believed.
        try String(text.dropLast(3)).write(toFile: windowFile, atomically: true, encoding: .utf8)
        #expect(!QuietWindow.covers(t0.addingTimeInterval(20), root: root))

        // A misspelt key: the device runs on its last good settings, and records no window.
        try FileManager.default.removeItem(atPath: windowFile)
        try sandbox.write("server_url: http://127.0.0.1:9\ncollect_intervall: 3600\n", to: "r/client/settings.yml")
        #expect(try fullRun(root, at: t0.addingTimeInterval(20)) == .nothingDue)
        #expect(!FileManager.default.fileExists(atPath: windowFile))
    }
}
