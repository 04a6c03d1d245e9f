import Foundation
import RookeryCore
import Testing

/// Password guessing against endpoint_auth on a real server: a burst of parallel wrong guesses from
/// one address is checked at most `limit` times (10 failures per address in five minutes, fixed),
/// the rest are answered 429 without a check, the server spends no more CPU than those checks
/// cost, and a device's submission sent meanwhile is answered in under a second.
@Suite struct PasswordGuessingAttackTests {
    static let limit = 10
    static let burst = 40
    static let password = "correct horse battery staple"

    /// A server whose download_release takes alice's password, hashed by `rookery save-password`
    /// (passlib's 29000 rounds).
    /// With `postgres`, on that database: called twice, a second process of the same install root.
    static func server(in sandbox: Sandbox, postgres: SharedPostgresDatabase? = nil) throws -> ServerProcess {
        let server = try ServerProcess(sandbox: sandbox, postgres: postgres)
        try sandbox.write(
            "listen_host: 127.0.0.1\nlisten_port: 0\nrelease_download: true\n" + (postgres?.settingsLines ?? ""),
            to: "srv/server/settings.yml")
        var environment = ProcessInfo.processInfo.environment
        environment["ROOKERY_HOME"] = server.root
        let saved = try runProcess(
            "/bin/sh",
            [
                "-c", "printf '%s\\n' \"$0\" | \"$1\" save-password --stdin alice",
                password, binaryDirectory + "/rookery"
            ], environment: environment)
        guard saved.status == 0 else { throw SettingsError("save-password failed: \(saved.stderr)") }
        let settings = server.root + "/server/settings.yml"
        let text = try String(contentsOfFile: settings, encoding: .utf8)
        try Data((text + "endpoint_auth:\n  download_release:\n    users: [alice]\n").utf8)
            .write(to: URL(fileURLWithPath: settings))
        try server.start()
        return server
    }

    @Test func aBurstOfParallelGuessesIsCheckedAtMostLimitTimes() throws {
        let sandbox = try Sandbox()
        let server = try Self.server(in: sandbox)
        let device = try NormalDevice(server: server, sandbox: sandbox)
        let scratch = try sandbox.directory("curl")
        let attacker = LoopbackGuesser(server: server, source: "127.0.0.1", scratch: scratch)

        // What one check costs this server, measured from another address: a few wrong guesses
        // in a row, and one submission.
        let calibrating = LoopbackGuesser(server: server, source: "127.0.0.2", scratch: scratch)
        let beforeCalibration = ProcessTree.usage(of: server.pid)
        for _ in 0..<3 { #expect(try calibrating.downloads(1, user: "alice", password: "wrong").map(\.status) == [401]) }
        let afterChecks = ProcessTree.usage(of: server.pid)
        #expect(try device.submit().status == 200)
        let afterSubmission = ProcessTree.usage(of: server.pid)
        let checkCost = (afterChecks.cpuSeconds - beforeCalibration.cpuSeconds) / 3
        let submissionCost = afterSubmission.cpuSeconds - afterChecks.cpuSeconds

        let before = ProcessTree.usage(of: server.pid)
        let burst = try attacker.startDownloads(Self.burst, user: "alice", password: "guess")
        usleep(100_000)
        let duringBurst = burst.isRunning
        let submission = try device.submit()
        let answers = try burst.finish()
        let after = ProcessTree.usage(of: server.pid)

        let checked = answers.filter { $0.status == 401 }
        let throttled = answers.filter { $0.status == 429 }
        #expect(answers.count == Self.burst)
        #expect(checked.count == Self.limit, "checked: at most the limit, and the limit is reached")
        #expect(throttled.count == Self.burst - Self.limit)
        #expect(throttled.allSatisfy { $0.seconds < 2 }, "429s: \(throttled.map(\.seconds).max() ?? 0) s at most")
        // CPU: the limit's checks, the device's submission, and a margin for 40 HTTP exchanges
        // and a noisy debug build.
        let bound = 1.5 * (Double(Self.limit) * checkCost + submissionCost) + 1.0
        let spent = after.cpuSeconds - before.cpuSeconds
        #expect(spent <= bound, "CPU \(spent) s for the burst; one check costs \(checkCost) s, bound \(bound) s")
        #expect(
            after.residentBytes - before.residentBytes < 64 << 20,
            "RSS grew from \(before.residentBytes >> 20) to \(after.residentBytes >> 20) MiB")
        #expect(duringBurst, "the submission went out while the burst was still being answered")
        #expect(submission.status == 200 && submission.seconds < 1, "submission: \(submission)")

        // Even the right password waits now from this address; from another it still comes in
        // (no release is published: 404 after authentication).
        #expect(try attacker.downloads(1, user: "alice", password: Self.password).map(\.status) == [429])
        let elsewhere = LoopbackGuesser(server: server, source: "127.0.0.3", scratch: scratch)
        #expect(try elsewhere.downloads(1, user: "alice", password: Self.password).map(\.status) == [404])
        print(
            "password burst: one check \(checkCost) s CPU, burst \(spent) s CPU (bound \(bound) s), "
                + "slowest 429 \(throttled.map(\.seconds).max() ?? 0) s, submission \(submission.seconds) s, "
                + "RSS \(before.residentBytes >> 20) -> \(after.residentBytes >> 20) MiB")
    }

    /// Two server processes on one PostgreSQL database (issue 18): guesses spread over both count
    /// together, ten in all from one address, not ten at each.
    @Test func guessesSpreadOverTwoServersCountTogether() throws {
        let sandbox = try Sandbox()
        let database = try SharedPostgresDatabase()
        defer { database.drop() }
        let first = try Self.server(in: sandbox, postgres: database)
        let second = try Self.server(in: sandbox, postgres: database)
        let scratch = try sandbox.directory("curl")
        let atFirst = LoopbackGuesser(server: first, source: "127.0.0.1", scratch: scratch)
        let atSecond = LoopbackGuesser(server: second, source: "127.0.0.1", scratch: scratch)
        #expect(try atFirst.downloads(6, user: "alice", password: "wrong").map(\.status) == Array(repeating: 401, count: 6))
        let statuses = try (0..<6).flatMap { _ in try atSecond.downloads(1, user: "alice", password: "wrong").map(\.status) }
        #expect(statuses == [401, 401, 401, 401, 429, 429], "the second process checks only what is left of the ten")
        #expect(try atSecond.downloads(1, user: "alice", password: Self.password).map(\.status) == [429])
        #expect(try database.number("SELECT count(*) FROM guess_attempts") == Self.limit)
    }
}
