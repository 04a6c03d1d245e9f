import Foundation
import GRDB
import HummingbirdTesting
import RookeryCore
import Testing

@testable import RookeryServer

/// Group commit (issue 15): the nonces and documents of many requests go into one transaction of
/// a real SQLite file; each request is answered after that transaction committed, and keeps an
/// outcome of its own.
@Suite struct GroupCommitTests {
    let sandbox: Sandbox
    let context: ServerContext
    /// The same file through connections of its own: it sees only what was committed.
    let reader: SQLiteStore
    var store: SQLiteStore { context.store as! SQLiteStore }

    init() async throws {
        sandbox = try Sandbox()
        // SQLite's own group commit (its transactions, its full disk), whichever backend the run tests.
        context = try await makeServerContext(sandbox) { $0.database = "var/server/test.sqlite" }
        reader = try SQLiteStore(path: context.root.resolve(context.settings.database))
    }

    /// `count` accepted devices, straight into the store (the store does not read their keys).
    func acceptedDevices(_ count: Int) async throws -> [String] {
        var fingerprints: [String] = []
        for index in 0..<count {
            let fingerprint = String(format: "%040X", index + 1)
            _ = try await store.enroll(
                Device(
                    fingerprint: fingerprint, publicKey: "k", hostname: "h\(index)",
                    machineID: "m\(index)", state: .pending, enrolledAt: Date()),
                acceptUnlessFlagged: true)
            fingerprints.append(fingerprint)
        }
        return fingerprints
    }

    static func submission(_ fingerprint: String, _ id: String, leaves: Int = 1, padding: Int = 0) -> Submission {
        var plugins = Dictionary(uniqueKeysWithValues: (0..<leaves).map { ("l\($0)", JSONValue.string(id)) })
        if padding > 0 { plugins["padding"] = .string(String(repeating: "x", count: padding)) }
        return Submission(
            fingerprint: fingerprint, submissionID: id, document: .object(["plugins": .object(plugins)]),
            receivedAt: Date())
    }

    static func nonce() -> String { UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() }

    func isStored(_ fingerprint: String, _ id: String) async throws -> Bool {
        try await reader.pool.read { db in
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM submissions WHERE fingerprint = ? AND submission_id = ?)",
                arguments: [fingerprint, id]) ?? false
        }
    }

    func isRecorded(_ nonce: String) async throws -> Bool {
        try await reader.lookUpSigner(fingerprint: "", nonce: nonce).nonceSeen
    }

    @Test func concurrentSubmissionsShareTransactionsAndEachIsAnsweredAfterItsCommit() async throws {
        let devices = try await acceptedDevices(8)
        let commits = CommitCounter()
        store.pool.add(transactionObserver: commits, extent: .observerLifetime)
        let writer = GroupCommitWriter(store: store, nonceLifetime: 600, maxBatch: 50, maxWait: .milliseconds(2))
        let requests = 400

        let outcomes = try await withThrowingTaskGroup(of: CommitOutcome.self) { group in
            for index in 0..<requests {
                group.addTask {
                    let device = devices[index % devices.count]
                    let id = "s\(index)"
                    let nonce = Self.nonce()
                    let outcome = try await writer.commit(
                        CommitItem(
                            nonce: nonce, seenAt: Date(), submission: Self.submission(device, id)))
                    // Answered: another connection must see it already.
                    #expect(try await isStored(device, id), "answered before \(id) was committed")
                    #expect(try await isRecorded(nonce))
                    return outcome
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }

        #expect(outcomes.count == requests && outcomes.allSatisfy { $0 == .recorded(.stored) })
        let counts = writer.committed
        #expect(counts.items == requests)
        // SQLite's own count of the transactions that stored submissions, beside the writer's.
        #expect(commits.count == counts.batches)
        #expect(counts.batches < requests / 2, "\(requests) requests took \(counts.batches) transactions")
        #expect(counts.batches >= requests / 50, "no batch holds more than commit_batch_max")
        #expect(try await reader.pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM submissions") } == requests)
        print("GroupCommitTests: \(requests) concurrent submissions in \(counts.batches) transactions")
    }

    /// One batch with every kind of item: each has its own outcome, and only what it was told
    /// is kept is kept.
    /// A submission's writes are worked out before the writer, against the document as last
    /// read (`SubmissionWrite`). When another submission of the device was stored in between,
    /// the writer must not use them: the history would name a value that was never the old one.
    @Test func writesWorkedOutAgainstAnOlderDocumentAreWorkedOutAgain() async throws {
        let device = try await acceptedDevices(1)[0]
        let writer = GroupCommitWriter(store: store, nonceLifetime: 600)
        func commit(_ id: String, prepared: SubmissionWrite? = nil) async throws -> CommitOutcome {
            try await writer.commit(
                CommitItem(
                    nonce: Self.nonce(), seenAt: Date(), submission: Self.submission(device, id),
                    prepared: prepared))
        }
        #expect(try await commit("a") == .recorded(.stored))
        let basis = try await store.latestDocumentText(fingerprint: device)
        let current = try SubmissionWrite(Self.submission(device, "b"), replacing: basis)
        #expect(try await commit("b", prepared: current) == .recorded(.stored))
        let stale = try SubmissionWrite(Self.submission(device, "c"), replacing: basis)
        #expect(stale.changes.first { $0.path == "plugins.l0" }?.old == "\"a\"")

        #expect(try await commit("c", prepared: stale) == .recorded(.stored))

        let history = try await reader.history(fingerprint: device, limit: 10).filter { $0.path == "plugins.l0" }
        #expect(history.map(\.old) == [.string("b"), .string("a"), nil], "newest first: c replaced b, b replaced a")
        #expect(try await reader.latestDocument(fingerprint: device)?["plugins"]?["l0"] == .string("c"))
    }

    /// A write worked out beforehand is used only against the very bytes it was worked out
    /// against: Swift's `==` takes canonically equivalent strings for equal.
    @Test func aWriteIsUsedOnlyAgainstTheSameBytes() throws {
        let submission = Self.submission(String(repeating: "F", count: 40), "x")
        let composed = "{\"plugins\":{\"l0\":\"\u{E9}\"}}"
        let decomposed = "{\"plugins\":{\"l0\":\"e\u{301}\"}}"
        #expect(composed == decomposed && Array(composed.utf8) != Array(decomposed.utf8))
        let write = try SubmissionWrite(submission, replacing: composed)
        #expect(write.ifStill(composed) != nil)
        #expect(write.ifStill(decomposed) == nil)
        #expect(write.ifStill(nil) == nil)
        let first = try SubmissionWrite(submission, replacing: nil)
        #expect(first.ifStill(nil) != nil)
        #expect(first.ifStill(composed) == nil)
    }

    /// A device's history is pruned to its length once a tenth of it was added since the last
    /// prune (finding the rows beyond the length walks them all): it never holds more than
    /// that tenth beyond its length, and always its newest rows.
    @Test func historyIsPrunedToItsLengthInSteps() async throws {
        let device = try await acceptedDevices(1)[0]
        let policy = HistoryPolicy(rowsPerDevice: 30)
        let step = policy.pruneStep
        #expect(step == 3)
        var counts: [Int] = []
        for index in 0..<60 {
            // One changed leaf each: one history row.
            #expect(try await store.store(Self.submission(device, "s\(index)"), history: policy) == .stored)
            let ids = try await reader.pool.read { db in
                try Int64.fetchAll(db, sql: "SELECT id FROM changes WHERE fingerprint = ? ORDER BY id DESC", arguments: [device])
            }
            counts.append(ids.count)
            #expect(ids.count <= 30 + step - 1, "after submission \(index)")
            #expect(ids.count >= min(index + 1, 30), "after submission \(index)")
            let newest = try await reader.history(fingerprint: device, limit: 1)
            #expect(newest.first?.new == .string("s\(index)"), "the newest row is kept")
        }
        #expect(counts.contains(30) && counts.contains(32), "pruned to 30 and grown back between prunes: \(counts)")
    }

    @Test func eachItemOfABatchKeepsItsOwnOutcome() async throws {
        let devices = try await acceptedDevices(4)
        let (good, revoked, corrupt) = (devices[0], devices[1], devices[2])
        let earlierNonce = Self.nonce()
        #expect(
            try await store.commit(
                [
                    CommitItem(
                        nonce: earlierNonce, seenAt: Date(),
                        submission: Self.submission(good, "earlier"))
                ],
                pruneNoncesBefore: .distantPast
            ).map { try $0.get() } == [.recorded(.stored)])
        #expect(try await store.store(Self.submission(corrupt, "first")) == .stored)
        try await store.setState(.revoked, fingerprint: revoked, at: Date())
        // A stored document that no longer parses: storing after it fails, for this device alone.
        try await store.pool.write { db in
            try db.execute(sql: "UPDATE documents SET document = '{' WHERE fingerprint = ?", arguments: [corrupt])
        }

        // Each item, the outcome it must get (nil: it fails alone), and whether its submission
        // id is stored afterwards.
        let shared = Self.nonce()
        let items: [(item: CommitItem, expected: CommitOutcome?, stored: Bool)] = [
            (CommitItem(nonce: shared, seenAt: Date(), submission: Self.submission(good, "a")), .recorded(.stored), true),
            // The same nonce again in the same batch: a replay, and its own document is not stored.
            (CommitItem(nonce: shared, seenAt: Date(), submission: Self.submission(good, "b")), .replay, false),
            (CommitItem(nonce: earlierNonce, seenAt: Date(), submission: Self.submission(good, "c")), .replay, false),
            (
                CommitItem(nonce: Self.nonce(), seenAt: Date(), submission: Self.submission(good, "earlier")),
                .recorded(.duplicate), true
            ),
            (
                CommitItem(nonce: Self.nonce(), seenAt: Date(), submission: Self.submission(revoked, "d")),
                .recorded(.deviceNotAccepted(.revoked)), false
            ),
            (
                CommitItem(
                    nonce: Self.nonce(), seenAt: Date(), submission: Self.submission(good, "e", leaves: 3),
                    history: HistoryPolicy(maxRowsPerSubmission: 2)), .recorded(.tooManyChanges(rows: 3)), false
            ),
            (CommitItem(nonce: Self.nonce(), seenAt: Date(), submission: Self.submission(corrupt, "f")), nil, false),
            (CommitItem(nonce: Self.nonce(), seenAt: Date()), .recorded(nil), false),
            (
                CommitItem(nonce: Self.nonce(), seenAt: Date(), submission: Self.submission(devices[3], "g")),
                .recorded(.stored), true
            )
        ]
        let results = try await store.commit(items.map(\.item), pruneNoncesBefore: .distantPast)

        #expect(results.count == items.count)
        for ((item, expected, stored), result) in zip(items, results) {
            let name = item.submission?.submissionID ?? "nonce alone"
            switch result {
            case .success(let outcome): #expect(outcome == expected, "\(name)")
            case .failure(let error): #expect(expected == nil, "\(name) failed: \(error)")
            }
            if let submission = item.submission {
                #expect(try await isStored(submission.fingerprint, submission.submissionID) == stored, "\(name)")
            }
            // Every nonce is kept (a replay's by its first use), but the failed item's: its
            // savepoint was rolled back whole.
            #expect(try await isRecorded(item.nonce) == (expected != nil), "\(name)")
        }
        #expect(try await reader.latestDocument(fingerprint: good)?["plugins"]?["l0"] == .string("a"))
    }

    /// A transaction that fails (here the file may not grow: a full disk) fails every item of
    /// its batch, and keeps nothing of any; the same items commit once there is room.
    @Test func aFailingTransactionFailsEveryItemAndKeepsNothing() async throws {
        let devices = try await acceptedDevices(2)
        try await store.pool.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            try db.execute(sql: "PRAGMA max_page_count = \(pages)")
        }
        let items = [
            CommitItem(nonce: Self.nonce(), seenAt: Date()),
            CommitItem(nonce: Self.nonce(), seenAt: Date(), submission: Self.submission(devices[0], "big", padding: 200_000)),
            CommitItem(nonce: Self.nonce(), seenAt: Date(), submission: Self.submission(devices[1], "small"))
        ]
        // The error says why (a full disk), not merely that the transaction was aborted.
        let error = await #expect(throws: DatabaseError.self) { try await store.commit(items, pruneNoncesBefore: .distantPast) }
        #expect(error?.resultCode == .SQLITE_FULL, "\(String(describing: error))")
        for item in items { #expect(try await !isRecorded(item.nonce)) }
        #expect(try await !isStored(devices[1], "small"))

        // Through the writer, every request whose transaction failed gets the error.
        let writer = GroupCommitWriter(store: store, nonceLifetime: 600)
        let big = (0..<4).map {
            CommitItem(
                nonce: Self.nonce(), seenAt: Date(),
                submission: Self.submission(devices[$0 % 2], "big\($0)", padding: 200_000))
        }
        let failures = await withTaskGroup(of: Bool.self) { group in
            for item in big {
                group.addTask { (try? await writer.commit(item)) == nil }
            }
            return await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(failures == big.count)
        #expect(writer.committed.batches == 0)

        try await store.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = 1073741823") }
        for item in items + big { #expect(try await writer.commit(item) != .replay) }
        for (device, id) in [(devices[0], "big"), (devices[1], "small"), (devices[1], "big3")] {
            #expect(try await isStored(device, id), "\(id)")
        }
    }

    /// Nonces are pruned once they are older than the writer keeps them, by each batch.
    @Test func aBatchPrunesNoncesPastTheirLifetime() async throws {
        let writer = GroupCommitWriter(store: store, nonceLifetime: 600)
        let old = Self.nonce()
        let recent = Self.nonce()
        // Kept for the lifetime and the margin (900 s here); far from the edge on either side:
        // a loaded machine may take seconds between the calls.
        #expect(try await writer.recordNonce(old, seenAt: Date().addingTimeInterval(-1500)))
        #expect(try await writer.recordNonce(recent, seenAt: Date().addingTimeInterval(-300)))
        #expect(try await writer.recordNonce(Self.nonce(), seenAt: Date()))
        #expect(try await !isRecorded(old))
        #expect(try await isRecorded(recent))
        #expect(try await !writer.recordNonce(recent, seenAt: Date()))
    }
}

/// A writer stalled by the disk (here: another process holding the database's write lock)
/// queues at most 20 batches' worth of items; the rest are answered busy at once.
@Suite struct GroupCommitQueueTests {
    @Test func aStalledWriterQueuesABoundedNumberAndAnswersTheRestBusy() async throws {
        let sandbox = try Sandbox()
        // SQLite's write lock, held by another process, whichever backend the run tests.
        let context = try await makeServerContext(sandbox) { $0.database = "var/server/test.sqlite" }
        let path = context.root.resolve(context.settings.database)
        let writer = GroupCommitWriter(store: context.store, nonceLifetime: 600, maxBatch: 1)
        // Another process holds the database's write lock until this test releases it.
        let release = sandbox.path + "/release-lock"
        let lock = Process()
        lock.executableURL = URL(fileURLWithPath: "/bin/sh")
        lock.arguments = [
            "-c", "(echo 'BEGIN IMMEDIATE;'; while [ ! -e \"$1\" ]; do sleep 0.05; done; echo 'COMMIT;') | sqlite3 \"$0\"",
            path, release
        ]
        try lock.run()
        defer { _ = FileManager.default.createFile(atPath: release, contents: nil) }
        try await Task.sleep(for: .seconds(1))  // the lock is taken
        @Sendable func record() async throws -> String {
            do {
                return try await writer.recordNonce(
                    UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased(),
                    seenAt: Date()) ? "recorded" : "replay"
            } catch let refusal as ProtocolError {
                return refusal.error.rawValue
            }
        }
        var sent = 30
        let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<sent { group.addTask { try await record() } }
            // Until the queue is full, one more request at a time (the thirty may not all have
            // arrived yet). Full, it turns away a request that would prepare its writes first.
            var full = false
            for _ in 0..<40 where !full {
                try await Task.sleep(for: .milliseconds(50))
                if (try? writer.checkRoom()) == nil {
                    full = true
                } else {
                    sent += 1
                    group.addTask { try await record() }
                }
            }
            #expect(full, "checkRoom never refused while the writer was stalled")
            _ = FileManager.default.createFile(atPath: release, contents: nil)
            return try await group.reduce(into: [String: Int]()) { $0[$1, default: 0] += 1 }
        }
        lock.waitUntilExit()
        try writer.checkRoom()
        // One in the stalled transaction, twenty queued, the rest turned away (the first may
        // still have been queued when the twenty-first arrived: then one more was).
        let busy = outcomes["busy"] ?? 0
        #expect(busy == sent - 21 || busy == sent - 20, "\(outcomes) of \(sent)")
        #expect((outcomes["recorded"] ?? 0) + busy == sent, "\(outcomes)")
    }
}

/// Counts the committed transactions that stored a submission, as SQLite reports them.
private final class CommitCounter: TransactionObserver, Sendable {
    private let counted = Locked((count: 0, storing: false))
    var count: Int { counted.current.count }

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        eventKind.tableName == "submissions"
    }

    func databaseDidChange(with event: DatabaseEvent) {
        counted.withLock { $0.storing = true }
    }

    func databaseDidCommit(_ db: Database) {
        counted.withLock {
            if $0.storing { $0.count += 1 }
            $0.storing = false
        }
    }

    func databaseDidRollback(_ db: Database) {
        counted.withLock { $0.storing = false }
    }
}

/// Two copies of one signed request sent at the same moment: whichever check meets the second
/// (the verifier's look for the nonce, or the writer when both got past that look), it is
/// refused as a replay and acts on nothing.
@Suite struct SimultaneousReplayTests {
    let sandbox: Sandbox
    let context: ServerContext
    let alice: TestDevice

    init() async throws {
        sandbox = try Sandbox()
        context = try await makeServerContext(sandbox)
        alice = try TestDevice(sandbox, name: "alice")
    }

    /// Posts both copies at once; the statuses, and the refusal's code.
    func postTwice(_ client: some TestClientProtocol, _ request: SignedRequest) async throws -> [Int: ProtocolErrorCode?] {
        async let first = post(client, request)
        async let second = post(client, request)
        var answers: [Int: ProtocolErrorCode?] = [:]
        for response in try await [first, second] {
            let code = try? JSONDecoder().decode(ProtocolError.self, from: Data(buffer: response.body)).error
            answers[Int(response.status.code)] = code
        }
        return answers
    }

    @Test func twoCopiesOfAnEnrollmentOrASubmissionActOnce() async throws {
        let app = try buildApplication(context: context, logger: quietLogger)
        try await app.test(.live) { client in
            let enrollment = try await postTwice(client, try alice.sign(.enroll, try alice.enrollFields()))
            #expect(enrollment.keys.sorted() == [200, 409] && enrollment[409] == .replay, "\(enrollment)")
            try await context.store.setState(.accepted, fingerprint: alice.fingerprint, at: Date())

            for round in 0..<5 {
                let submission = try await postTwice(
                    client, try alice.sign(.submit, TestDevice.submitFields(id: "s\(round)", plugins: ["round": .integer(Int64(round))])))
                #expect(submission.keys.sorted() == [200, 409] && submission[409] == .replay, "\(submission)")
            }
            let history = try await context.store.history(fingerprint: alice.fingerprint, limit: 100)
            #expect(history.filter { $0.path == "plugins.round" }.count == 5, "each submission stored once")
        }
    }
}
