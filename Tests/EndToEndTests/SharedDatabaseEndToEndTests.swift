import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// Two server processes on one PostgreSQL database (issue 18), devices spread over both: every
/// submission is stored once, whichever process took it, and a request one process accepted is
/// refused as a replay by the other (the nonces are the database's, not a process's). Audits
/// started on two hosts at once alert each issue once.
@Suite struct SharedDatabaseEndToEndTests {
    @Test func devicesSpreadOverTwoProcessesAreStoredOnceAndAReplayToTheOtherIsRefused() throws {
        let sandbox = try Sandbox()
        let database = try SharedPostgresDatabase()
        defer { database.drop() }
        let first = try ServerProcess.started(in: sandbox, postgres: database)
        // The second process: the same install root (signing key, keyrings), the same database.
        let second = try ServerProcess.started(in: sandbox, postgres: database)
        let laptop = try first.acceptedClient(sandbox: sandbox, name: "laptop", collections: 3)
        let desk = try second.acceptedClient(sandbox: sandbox, name: "desk", collections: 3)
        #expect(try laptop.run("submit").status == 0)
        #expect(try desk.run("submit").status == 0)
        #expect(laptop.queued().isEmpty && desk.queued().isEmpty)
        // Each process sees what the other stored: six submissions, each once.
        #expect(try first.count("SELECT count(*) FROM submissions") == 6)
        #expect(try second.count("SELECT count(DISTINCT (fingerprint, submission_id)) FROM submissions") == 6)
        #expect(try second.count("SELECT count(*) FROM devices WHERE state = 'accepted'") == 2)

        let device = try NormalDevice(server: first, sandbox: sandbox, name: "probe")
        let request = try device.signedSubmission(plugins: ["probe": .string("once")])
        let signature = request.signature.base64EncodedString()
        let taken = try postRaw(first.url, endpoint: "submit", body: request.body, signatureHeader: signature, scratch: sandbox.path)
        #expect(taken.status == 200, "\(taken.status) \(taken.body)")
        let replayed = try postRaw(
            second.url, endpoint: "submit", body: request.body, signatureHeader: signature, scratch: sandbox.path)
        #expect(replayed.status == 409 && replayed.body.contains("replay"), "\(replayed.status) \(replayed.body)")
        #expect(try second.count("SELECT count(*) FROM changes WHERE new = '\"once\"'") == 1)
    }

    /// cron starts `bin/issues audit --cron` on two hosts at the same minute: the database's lock
    /// runs one after the other, so the second finds every alert already sent, and each issue is
    /// mailed once, by one host.
    @Test func auditsStartedOnTwoHostsAtOnceAlertEachIssueOnce() throws {
        let sandbox = try Sandbox()
        let database = try SharedPostgresDatabase()
        defer { database.drop() }
        let checks = counterSeenChecks("alert_every: 1d")
        try sandbox.write(checks, to: "srv/server/issues.yml")
        let server = try ServerProcess.started(in: sandbox, postgres: database)
        let devices = ["laptop", "desk", "tower"]
        for name in devices {
            #expect(try server.acceptedClient(sandbox: sandbox, name: name, collections: 1).run("submit").status == 0)
        }
        // The second host: an install root of its own (its own audit.lock), the same database.
        try sandbox.write(database.settingsLines, to: "host2/server/settings.yml")
        try sandbox.write(checks, to: "host2/server/issues.yml")

        let reports = Locked([Int: ProcessOutput]())
        DispatchQueue.concurrentPerform(iterations: 2) { host in
            let ran = Result { try runBinary("rookery", ["issues", "audit", "--cron"], root: host == 0 ? server.root : sandbox.path + "/host2") }
            reports.withLock { $0[host] = try? ran.get() }
        }
        let outputs = reports.current.values.sorted { $0.stdout.count < $1.stdout.count }
        #expect(outputs.count == 2 && outputs.allSatisfy { $0.status == 0 }, "\(outputs.map(\.stderr))")
        for name in devices {
            let mentions = outputs.map { $0.stdout.components(separatedBy: name).count - 1 }.reduce(0, +)
            #expect(mentions == 1, "\(name) alerted \(mentions) times:\n\(outputs.map(\.stdout).joined(separator: "\n---\n"))")
        }
        #expect(try server.count("SELECT count(*) FROM issues WHERE closed_at IS NULL") == 3)
    }
}
