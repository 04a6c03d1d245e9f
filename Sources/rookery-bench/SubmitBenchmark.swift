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

    /// Runs every level, handing each result to `report` as soon as it is measured.
    func run(report: (SubmitResult) -> Void) async throws {
        let scratch = try BenchScratch()
        defer { scratch.cleanUp() }
        let directory = keepRoot ?? scratch.path
        let server = try BenchServer(
            root: directory + "/srv", tls: tls, verifyWith: verifyWith,
            extraSettings: extraSettings)
        defer { server.stop() }
        scratch.track(OpenPGP(homeDirectory: server.root + "/var/server/gnupg"))
        let fleet = try await BenchFleet.prepare(count: devices, in: directory, server: server)
        for concurrency in levels {
            let load = SubmissionLoad(
                fleet: fleet, server: server, requests: requests, concurrency: concurrency,
                documentBytes: documentBytes, keepAlive: keepAlive)
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
