import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// Two server processes on one PostgreSQL database (issue 18), devices spread over both: every
/// submission is stored once, whichever process took it, and a request one process accepted is
/// refused as a replay by the other (the nonces are the database's, not a process's).
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
}
