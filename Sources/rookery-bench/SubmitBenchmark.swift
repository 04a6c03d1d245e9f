import Foundation
import RookeryCore
import RookeryServer

/// `rookery-bench submit`: see BenchCommand for what it measures.
struct SubmitBenchmark {
    let devices: Int
    /// Concurrency levels, each measured in turn against the same server and fleet.
    let levels: [Int]
    /// Submissions per level.
    let requests: Int
    let documentBytes: Int?
    /// Over HTTPS with a pinned self-signed certificate; each request a new connection and handshake.
    var tls = false
    /// Senders keep their connections open (see `SubmissionLoad.keepAlive`).
    var keepAlive = false
    let verifyWith: VerifyWith?
    /// More server settings, as `key: value` lines.
    var extraSettings: [String] = []
    /// Where to keep the server root and the device keys for later runs; nil: a scratch root.
    let keepRoot: String?
    /// PostgreSQL to measure beside SQLite; nil: SQLite alone.
    var postgres: BenchPostgres?
    /// Server processes sharing the PostgreSQL database (SQLite serves one).
    var servers = 1
    /// With PostgreSQL: how many times to run SQLite then PostgreSQL, alternating, so that both
    /// see the same moods of a shared machine.
    var rounds = 1

    /// Runs every level, handing each result to `report` as soon as it is measured: SQLite, then
    /// (with `postgres`) PostgreSQL on a fresh database, `rounds` times.
    func run(report: (SubmitResult) -> Void) async throws {
        for _ in 0..<(postgres == nil ? 1 : rounds) {
            try await runSetup(settings: [], servers: 1, backend: "sqlite", report: report)
            guard let postgres else { continue }
            try await postgres.withScratchDatabase { database in
                try await runSetup(
                    settings: postgres.settings(for: database), servers: servers, backend: "postgresql",
                    databaseCPU: { postgres.cpuSeconds() }, report: report)
            }
        }
    }

    /// One setup: `servers` server processes on one database, a fleet enrolled through the first,
    /// then every level.
    private func runSetup(
        settings: [String], servers count: Int, backend: String, databaseCPU: @escaping @Sendable () -> Double? = { nil },
        report: (SubmitResult) -> Void
    ) async throws {
        let scratch = try BenchScratch()
        defer { scratch.cleanUp() }
        let directory = keepRoot ?? scratch.path
        var servers: [BenchServer] = []
        defer { servers.forEach { $0.stop() } }
        for number in 0..<count {
            let server = try BenchServer(
                root: directory + (number == 0 ? "/srv" : "/srv\(number)"), tls: tls, verifyWith: verifyWith,
                extraSettings: extraSettings + settings)
            servers.append(server)
            scratch.track(OpenPGP(homeDirectory: server.root + "/var/server/gnupg"))
        }
        let fleet = try await BenchFleet.prepare(count: devices, in: directory, server: servers[0])
        for concurrency in levels {
            var load = SubmissionLoad(
                fleet: fleet, servers: servers, requests: requests, concurrency: concurrency,
                documentBytes: documentBytes, keepAlive: keepAlive)
            load.backend = backend
            load.databaseCPU = databaseCPU
            report(SubmitResult(load: try load.run(), verifyWith: verifyWith))
        }
    }
}

/// One level's result, with the verify_with setting it ran under.
struct SubmitResult {
    let load: SubmissionLoad.Result
    let verifyWith: VerifyWith?

    var text: String {
        load.text + "\nverify_with: " + (verifyWith?.rawValue ?? "(not set: the server's default)")
    }

    var json: String {
        var fields = load.jsonFields
        fields["verify_with"] = verifyWith.map { .string($0.rawValue) } ?? .null
        return JSONValue.object(fields).serializedString
    }
}
