import Foundation
import RookeryCore
import Testing

/// Group commit (issue 15): a submission answered `stored` is on disk (in the SQLite file, or
/// committed by PostgreSQL). The real server, under
/// concurrent load from several enrolled devices, is killed with SIGKILL at random moments, 20
/// times; after each kill every submission it answered `stored` is in the database and the file
/// is intact, and at the end, with every unanswered submission sent again as a device does, each
/// is stored exactly once.
@Suite(.serialized) struct CrashEndToEndTests {
    static let kills = 20
    static let devices = 4
    static let sendersPerDevice = 2

    /// On the SQLite file, and on PostgreSQL (issue 18), where a commit is PostgreSQL's.
    @Test(arguments: [false, true])
    func everySubmissionAnsweredStoredSurvivesKillNine(onPostgreSQL: Bool) throws {
        let sandbox = try Sandbox()
        let postgres = onPostgreSQL ? try SharedPostgresDatabase() : nil
        defer { postgres?.drop() }
        let server = try ServerProcess.started(in: sandbox, postgres: postgres)
        let devices = try (0..<Self.devices).map { try CrashDevice(server: server, sandbox: sandbox, name: "crash\($0)") }
        let ledger = Ledger()
        var delays: [Double] = []

        for kill in 1...Self.kills {
            if kill > 1 { try server.start() }
            let stop = Locked(false)
            let sending = DispatchGroup()
            for device in devices {
                for _ in 0..<Self.sendersPerDevice {
                    sending.enter()
                    DispatchQueue.global().async {
                        defer { sending.leave() }
                        while !stop.current, device.sendOne(to: server, ledger: ledger) {}
                    }
                }
            }
            let delay = Double.random(in: 0.3...2.0)
            delays.append(delay)
            usleep(UInt32(delay * 1_000_000))
            server.kill()
            stop.withLock { $0 = true }
            sending.wait()

            // Before anything restarts: what was answered `stored` is in the file.
            let stored = try Self.storedIDs(server)
            let answered = ledger.answeredStored
            let missing = answered.subtracting(stored)
            #expect(missing.isEmpty, "kill \(kill): \(missing.count) submissions answered stored are not in the database: \(missing.sorted().prefix(5))")
            if !onPostgreSQL { #expect(try server.sql("PRAGMA integrity_check") == "ok", "kill \(kill)") }
        }

        // The devices send what was never answered again (a new nonce, the same id), as their
        // queues do: each is stored now, or was before the kill and is a duplicate.
        try server.start()
        for device in devices {
            while device.sendOne(to: server, ledger: ledger, retriesOnly: true) {}
        }
        #expect(ledger.unanswered.isEmpty, "still unanswered: \(ledger.unanswered.count)")
        #expect(ledger.unexpected.isEmpty, "\(ledger.unexpected.prefix(5))")
        server.kill()

        let stored = try Self.storedIDs(server)
        #expect(stored == ledger.sent, "the database holds \(stored.count) of \(ledger.sent.count) sent, \(stored.subtracting(ledger.sent).count) never sent")
        #expect(ledger.storedTwice.isEmpty, "answered stored twice: \(ledger.storedTwice.prefix(5))")
        // Each stored submission changed its own leaf once: none was stored twice.
        #expect(try Int(server.sql("SELECT count(*) FROM changes WHERE path = 'plugins.crash.id'")) == stored.count)
        if !onPostgreSQL { #expect(try server.sql("PRAGMA integrity_check") == "ok") }
        #expect(ledger.answeredStored.count >= 5 * Self.kills, "the load was too light: \(ledger.answeredStored.count) stored")
        print(
            "CrashEndToEndTests (\(onPostgreSQL ? "PostgreSQL" : "SQLite")): \(Self.kills) kills after \(delays.map { String(format: "%.2f", $0) }.joined(separator: " ")) s;",
            "\(ledger.sent.count) submissions, \(ledger.answeredStored.count) answered stored before their kill or at the end;",
            "\(ledger.lostAnswers) sent without an answer, of which \(ledger.duplicatesOnRetry) were stored before the kill")
    }

    /// The submission ids the devices of this test stored, read from the database with
    /// sqlite3 or psql.
    static func storedIDs(_ server: ServerProcess) throws -> Set<String> {
        Set(
            try server.sql("SELECT submission_id FROM submissions WHERE submission_id LIKE 'crash%'")
                .split(separator: "\n").map(String.init))
    }

}

/// What the devices sent and what they were answered, across kills.
private final class Ledger: Sendable {
    private struct State {
        var sent: Set<String> = []
        var unanswered: [String: Set<String>] = [:]
        var storedAnswers: [String: Int] = [:]
        var lostAnswers = 0
        var duplicatesOnRetry = 0
        var unexpected: [String] = []
    }
    private let state = Locked(State())

    var sent: Set<String> { state.current.sent }
    var unanswered: [String] { state.current.unanswered.values.flatMap { $0 } }
    var answeredStored: Set<String> { Set(state.current.storedAnswers.keys) }
    var storedTwice: [String] { state.current.storedAnswers.filter { $0.value > 1 }.map(\.key) }
    var lostAnswers: Int { state.current.lostAnswers }
    var duplicatesOnRetry: Int { state.current.duplicatesOnRetry }
    var unexpected: [String] { state.current.unexpected }

    /// An id of `device` to send: one never answered, else a new one (nil: none left to retry).
    func next(for device: String, counter: () -> Int, retriesOnly: Bool) -> (id: String, retry: Bool)? {
        state.withLock { state in
            if let retry = state.unanswered[device]?.popFirst() { return (retry, true) }
            guard !retriesOnly else { return nil }
            let id = "\(device)-\(counter())"
            state.sent.insert(id)
            return (id, false)
        }
    }

    func answered(_ id: String, device: String, retry: Bool, status: Int, body: String) {
        state.withLock { state in
            switch (status, body) {
            case (200, let body) where body.contains("\"stored\""):
                state.storedAnswers[id, default: 0] += 1
            case (200, let body) where body.contains("\"duplicate\""):
                if retry { state.duplicatesOnRetry += 1 } else { state.unexpected.append("\(id) duplicate on its first send") }
            case (0, _):
                state.unanswered[device, default: []].insert(id)
                state.lostAnswers += 1
            default:
                state.unanswered[device, default: []].insert(id)
                state.unexpected.append("\(id): \(status) \(body)")
            }
        }
    }
}

/// An enrolled, accepted device that signs its submissions itself and posts them over a
/// connection of its own, so that a kill only loses the answers in flight.
private final class CrashDevice: Sendable {
    let name: String
    let fingerprint: String
    private let openPGP: OpenPGP
    private let counter = Locked(0)

    init(server: ServerProcess, sandbox: Sandbox, name: String) throws {
        let device = try NormalDevice(server: server, sandbox: sandbox, name: name)
        self.name = name
        fingerprint = device.fingerprint
        openPGP = OpenPGP(homeDirectory: device.client.root + "/var/client/gnupg")
    }

    /// Sends one submission and records its answer; false when the server did not answer (it
    /// was killed) or nothing was left to send.
    func sendOne(to server: ServerProcess, ledger: Ledger, retriesOnly: Bool = false) -> Bool {
        guard
            let (id, retry) = ledger.next(
                for: name,
                counter: {
                    counter.withLock {
                        $0 += 1
                        return $0
                    }
                },
                retriesOnly: retriesOnly)
        else { return false }
        let (status, body) = post(id, port: server.port)
        ledger.answered(id, device: name, retry: retry, status: status, body: body)
        return status != 0
    }

    /// One signed submission over HTTP/1.1 on a new connection; status 0 when no answer came.
    private func post(_ id: String, port: Int) -> (status: Int, body: String) {
        do {
            let request = try SignedRequest.make(
                endpoint: .submit,
                fields: ["submission_id": .string(id), "plugins": .object(["crash": .object(["id": .string(id)])])],
                host: name, fingerprint: fingerprint, signer: openPGP)
            let connection = try RawConnection(port: port)
            let head =
                "POST /rookery/v1/submit HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(request.body.count)\r\n\(WireProtocol.signatureHeader): \(request.signatureHeaderValue)\r\n"
                + "Connection: close\r\n\r\n"
            guard connection.send(head + String(decoding: request.body, as: UTF8.self)) else { return (0, "") }
            let answer = String(decoding: connection.readToEnd(seconds: 30), as: UTF8.self)
            guard let statusLine = answer.split(separator: "\r\n").first, statusLine.hasPrefix("HTTP/1.1 "),
                let status = Int(statusLine.dropFirst(9).prefix(3)), let split = answer.range(of: "\r\n\r\n")
            else {
                return (0, "")
            }
            return (status, String(answer[split.upperBound...]))
        } catch {
            return (0, "")
        }
    }
}
