import Foundation
import RookeryCore
import RookeryServer

/// `rookery-bench verify`: what a submission costs the server when the database holds `enrolled`
/// accepted devices. A few real devices send; the rest are seeded rows with keys and documents of
/// their own, so that between a run with 100 and one with 100,000 only the fleet's size differs.
struct VerifyBenchmark {
    let enrolled: Int
    let devices: Int
    let concurrency: Int
    let requests: Int
    let documentBytes: Int?
    let verifyWith: VerifyWith?
    let keepRoot: String?

    struct Result {
        let enrolled: Int
        let load: SubmissionLoad.Result
        let verifyWith: VerifyWith?

        var text: String {
            "enrolled:    \(enrolled) accepted devices, verify_with: \(verifyWith?.rawValue ?? "(not set)")\n" + load.text
        }

        var json: String {
            var fields = load.jsonFields
            fields["enrolled"] = .integer(Int64(enrolled))
            fields["verify_with"] = verifyWith.map { .string($0.rawValue) } ?? .null
            return JSONValue.object(fields).serializedString
        }
    }

    func run() async throws -> Result {
        let scratch = try BenchScratch()
        defer { scratch.cleanUp() }
        let directory = keepRoot ?? scratch.path
        let server = try BenchServer(root: directory + "/srv", verifyWith: verifyWith)
        defer { server.stop() }
        scratch.track(OpenPGP(homeDirectory: server.root + "/var/server/gnupg"))
        let fleet = try await BenchFleet.prepare(count: devices, in: directory, server: server)
        let store = try SQLiteStore(path: server.root + "/" + ServerSettings().database)
        let present = try await store.deviceCount(in: .accepted)
        guard present <= enrolled else {
            throw AdminError("\(directory) already holds \(present) accepted devices; give it --enrolled \(present) or another --root")
        }
        try await seed(enrolled - present, after: present, into: store)
        let load = SubmissionLoad(
            fleet: fleet, servers: [server], requests: requests, concurrency: concurrency,
            documentBytes: documentBytes)
        return Result(enrolled: enrolled, load: try load.run(), verifyWith: verifyWith)
    }

    /// Seeds `count` accepted devices, each with an Ed25519 OpenPGP key of its own and a laptop
    /// document, a thousand to a transaction.
    private func seed(_ count: Int, after first: Int, into store: SQLiteStore) async throws {
        guard count > 0 else { return }
        let started = Date()
        let now = Date()
        for start in stride(from: first, to: first + count, by: 1000) {
            let batch = (start..<min(start + 1000, first + count)).map { index in
                let host = String(format: "seeded%06d", index)
                let key = BenchDeviceKey(userID: host, created: now.addingTimeInterval(-30 * 86_400))
                let device = Device(
                    fingerprint: key.fingerprint, publicKey: key.armored, hostname: host,
                    machineID: "machine-" + host, state: .accepted,
                    enrolledAt: now.addingTimeInterval(-30 * 86_400),
                    acceptedAt: now.addingTimeInterval(-30 * 86_400),
                    lastSubmissionAt: now.addingTimeInterval(-Double(index % 3600)))
                return (device: device, document: AuditBenchmark.document(host: host, index: index))
            }
            try await store.seed(batch)
        }
        BenchFleet.log(String(format: "seeded %d devices in %.1f s", count, Date().timeIntervalSince(started)))
    }
}
