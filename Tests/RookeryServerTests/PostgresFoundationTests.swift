import Foundation
import PostgresNIO
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryServer

/// The PostgreSQL backend's footing: the `database` URL, the password's sources, and migrations
/// against a real server (bin/test's throw-away cluster).
@Suite struct PostgresFoundationTests {
    @Test func aURLNamesUserHostPortDatabaseAndSSLMode() throws {
        let location = try PostgresLocation(url: "postgresql://rookery@db.example.org:6432/fleet?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(location.user == "rookery")
        #expect(location.host == "db.example.org")
        #expect(location.port == 6432)
        #expect(location.database == "fleet")
        #expect(location.sslMode == .verifyFull)
        #expect(location.rootCertificate == "/etc/ca.pem")
        let plain = try PostgresLocation(url: "postgres://app@[::1]/fleet")
        #expect(plain.host == "::1" && plain.port == 5432 && plain.sslMode == .prefer)
        #expect(plain.connectTimeout == 30)
        let patient = try PostgresLocation(url: "postgresql://app@db/fleet?connect_timeout=90")
        #expect(patient.connectTimeout == 90 && patient.description.hasSuffix("&connect_timeout=90"))
        #expect(try PostgresLocation(url: patient.description) == patient, "what description writes, a URL reads back")
        #expect(try DatabaseLocation.parse("var/server/rookery.sqlite") == .sqlite(path: "var/server/rookery.sqlite"))
    }

    @Test(arguments: [
        ("postgresql://rookery:secret@db/fleet", "holds a password"),
        ("postgresql://db/fleet", "name the user"),
        ("postgresql://rookery@db", "name the database"),
        ("postgresql://rookery@db:99999/fleet", "port must be"),
        ("postgresql://rookery@db/fleet?sslmode=maybe", "sslmode must be one of"),
        ("postgresql://rookery@db/fleet?password=x", "unknown parameter password"),
        ("postgresql://rookery@db/fleet?connect_timeout=0", "connect_timeout must be"),
        ("mysql://rookery@db/fleet", "only postgresql://")
    ])
    func aURLThatCannotBeUsedIsRefusedSayingWhy(url: String, reason: String) throws {
        #expect {
            try DatabaseLocation.parse(url)
        } throws: { error in
            "\(error)".contains(reason) && !"\(error)".contains("secret")
        }
    }

    @Test func thePasswordComesFromAFileOnlyItsOwnersReadOrTheEnvironment() throws {
        let sandbox = try Sandbox()
        try sandbox.write("s3cret\nignored\n", to: "pw", mode: 0o640)
        #expect(try PostgresPool.password(file: sandbox.path + "/pw", environment: [:]) == "s3cret")
        try sandbox.write("s3cret\n", to: "open", mode: 0o644)
        #expect(throws: SettingsError.self) { try PostgresPool.password(file: sandbox.path + "/open", environment: [:]) }
        #expect(try PostgresPool.password(file: nil, environment: ["ROOKERY_DATABASE_PASSWORD": "e"]) == "e")
        #expect(try PostgresPool.password(file: nil, environment: [:]) == nil)
    }

    @Test func migrationsBringAnEmptyDatabaseToThisSchemaOnceWhoeverStartsTogether() async throws {
        let test = try await PostgresTestDatabase()
        let (first, second) = (try test.open(), try test.open())
        #expect(try await PostgresMigrations.schemaState(first) == .behind(missing: PostgresMigrations.ids))
        async let one = PostgresMigrations.migrate(first)
        async let two = PostgresMigrations.migrate(second)
        let (applied1, applied2) = try await (one, two)
        // One of them applied every migration, in order; the other found nothing to do.
        #expect(Set([applied1, applied2]) == [PostgresMigrations.ids, []])
        #expect(try await PostgresMigrations.schemaState(first) == .current)
        let applied = try await first.client.query("SELECT count(*) FROM rookery_migrations").single(Int.self)
        #expect(applied == PostgresMigrations.all.count)
        try await first.client.query(
            "INSERT INTO devices (fingerprint, public_key, hostname, machine_id, state, enrolled_at) VALUES ('F', 'k', 'h', 'm', 'pending', now())")
        try await test.drop()
    }

    @Test func aDatabaseANewerServerMigratedIsRefused() async throws {
        let test = try await PostgresTestDatabase()
        let database = try test.open()
        _ = try await PostgresMigrations.migrate(database)
        try await database.client.query("INSERT INTO rookery_migrations (id) VALUES ('v99-from-the-future')")
        #expect(try await PostgresMigrations.schemaState(database) == .ahead(unknown: ["v99-from-the-future"]))
        await #expect {
            _ = try await PostgresMigrations.migrate(database)
        } throws: { error in
            error is SettingsError && "\(error)".contains("a newer server migrated it")
        }
        try await test.drop()
    }
}

/// What the `database` setting's PostgreSQL URL and its password settings open, and how each
/// way of getting them wrong is said.
@Suite struct PostgresOpeningTests {
    @Test func aServerOpensAPostgreSQLDatabaseWithThePasswordFromItsFile() async throws {
        let database = try await PostgresTestDatabase()
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox) {
            $0.database = database.location.description
            $0.databasePasswordFile = database.passwordFile
        }
        #expect(context.store is PostgresStore)
        #expect(try await context.store.schemaState() == .current)
        try await database.drop()
    }

    @Test func aPasswordInTheURLIsRefusedWithoutSayingIt() async throws {
        let sandbox = try Sandbox()
        await #expect {
            try await makeServerContext(sandbox) { $0.database = "postgresql://rookery:pw@127.0.0.1/fleet" }
        } throws: { error in
            "\(error)".contains("holds a password") && !"\(error)".contains("pw@")
        }
    }

    @Test func aPasswordFileAnyoneMayReadIsRefusedNamingTheSetting() async throws {
        let sandbox = try Sandbox()
        try sandbox.write("secret\n", to: "password", mode: 0o644)
        let file = sandbox.path + "/password"
        await #expect {
            try await makeServerContext(sandbox) {
                $0.database = "postgresql://rookery@127.0.0.1/fleet?sslmode=disable"
                $0.databasePasswordFile = file
            }
        } throws: { error in
            error is SettingsError && "\(error)".contains("database_password_file") && "\(error)".contains("chmod o-r")
                && !"\(error)".contains("secret")
        }
    }

    @Test func aDatabaseThatCannotBeReachedIsUnreachableNotASettingsMistake() async throws {
        let sandbox = try Sandbox()
        // A port that was just listened on and closed: nothing answers there.
        let listener = try SMTPListener()
        let closed = listener.port
        listener.stop()
        await #expect {
            try await makeServerContext(sandbox) {
                $0.database = "postgresql://rookery@127.0.0.1:\(closed)/fleet?sslmode=disable&connect_timeout=2"
            }
        } throws: { error in
            guard let unavailable = error as? DatabaseUnavailable else { return false }
            return unavailable.kind == .unreachable && "\(error)".contains("127.0.0.1:\(closed)/fleet")
                && "\(error)".contains("within 2 s")
        }
    }
}

/// PostgreSQL's refusals reach logs and admins in PostgreSQL's words, never as postgres-nio's
/// one generic sentence.
@Suite struct PostgresFailureTests {
    @Test func aFailingStatementIsSaidInPostgreSQLsWordsWithItsCode() async throws {
        let database = try await PostgresTestDatabase()
        let store = try await PostgresStore(pool: try database.open())
        try await StoreBackend.execute("DROP TABLE client_parameters", on: store)
        let error = await #expect(throws: PostgresFailure.self) { try await store.parameters(fingerprint: "A") }
        #expect(error?.sqlState == "42P01")
        #expect(error?.description.contains(#"relation "client_parameters" does not exist"#) == true, "\(String(describing: error))")
        try await database.drop()
    }
}

/// Agent wake-ups commit in the order of their ids, so a watcher reading on past the newest it
/// saw never skips one that committed later (a sequence alone does not promise that).
@Suite struct PostgresWakeupOrderTests {
    @Test func aWakeUpQueuedWhileAnotherIsUncommittedWaitsAndComesAfterIt() async throws {
        let database = try await PostgresTestDatabase()
        let store = try await PostgresStore(pool: try database.open())
        let device = try await PatchStoreContractTests.acceptedDevice(in: store)
        let patchQueued = Locked(false)
        let (opened, signalOpened) = AsyncStream<Void>.makeStream()
        // A transaction that added its wake-up (id first) and has not committed yet.
        let slow = Task {
            try await store.pool.transaction { connection in
                try await PostgresStore.recordAgentWakeup(fingerprint: "EARLIER", at: Date(), on: connection, logger: quietLogger)
                signalOpened.finish()
                try await Task.sleep(for: .milliseconds(600))
                #expect(!patchQueued.current, "the second waited for the first to commit")
            }
        }
        for await _ in opened {}
        _ = try await store.queuePatch(PatchStoreContractTests.patch(device))
        patchQueued.withLock { $0 = true }
        try await slow.value
        let order = try await store.agentWakeups(after: 0, limit: 10).map(\.fingerprint)
        #expect(order == ["EARLIER", device.fingerprint])
        try await database.drop()
    }
}

/// A submission that waited for its device's lock works its changes out against what the
/// holder wrote (a rewrite that sealed a value), not against what it would have read before
/// the wait: its read is a statement of its own, after the lock.
@Suite struct PostgresSubmissionLockTests {
    static func submission(_ device: Device, _ id: String, _ value: String) -> Submission {
        Submission(
            fingerprint: device.fingerprint, submissionID: id, document: .object(["plugins": .object(["l0": .string(value)])]),
            receivedAt: Date())
    }

    @Test func aSubmissionWaitingForTheDeviceSeesWhatTheHolderWrote() async throws {
        let database = try await PostgresTestDatabase()
        let store = try await PostgresStore(pool: try database.open())
        let device = try await PatchStoreContractTests.acceptedDevice(in: store)
        #expect(try await store.store(Self.submission(device, "s1", "a")) == .stored)
        let stored = try #require(try await store.latestDocumentText(fingerprint: device.fingerprint))
        let rewritten = stored.replacingOccurrences(of: #""l0":"a""#, with: #""l0":"b""#)
        #expect(rewritten != stored)
        let holder = await store.holdingDeviceRow(device.fingerprint) { connection in
            try await Task.sleep(for: .milliseconds(500))
            try await connection.query(
                "UPDATE documents SET document = \(rewritten) WHERE fingerprint = \(device.fingerprint)", logger: quietLogger)
        }
        #expect(try await store.store(Self.submission(device, "s2", "c")) == .stored)
        try await holder.value
        let newest = try await store.history(fingerprint: device.fingerprint, limit: 10).first { $0.path == "plugins.l0" }
        #expect(newest?.old == .string("b") && newest?.new == .string("c"), "\(String(describing: newest))")
        try await database.drop()
    }
}

/// A batch locks its devices in fingerprint order before any item, so two processes' batches
/// sharing devices cannot hold one each and wait for the other's.
@Suite struct PostgresBatchLockOrderTests {
    @Test func aBatchLocksItsDevicesInFingerprintOrderBeforeItsItems() async throws {
        let database = try await PostgresTestDatabase()
        let store = try await PostgresStore(pool: try database.open())
        let first = try await PatchStoreContractTests.acceptedDevice(in: store, number: 1)
        let second = try await PatchStoreContractTests.acceptedDevice(in: store, number: 2)
        let (release, signalRelease) = AsyncStream<Void>.makeStream()
        let holder = await store.holdingDeviceRow(second.fingerprint) { _ in
            for await _ in release {}
        }
        // The second device's item first: locking item by item would wait on it holding nothing.
        let items = [second, first].enumerated().map { index, device in
            CommitItem(
                nonce: "batch-\(index)", seenAt: Date(),
                submission: PostgresSubmissionLockTests.submission(device, "s\(index)", "v"))
        }
        let batch = Task { try await store.commit(items, pruneNoncesBefore: .distantPast) }
        // Until the batch waits for the held device (a busy machine may take seconds to get there).
        for _ in 0..<600 {
            let waiting = try await StoreBackend.number(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", on: store)
            if waiting > 0 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        // Its rows read, since an error comes with the rows.
        let said = await #expect(throws: PostgresFailure.self) {
            _ = try await store.pool.query(
                "SELECT 1 FROM devices WHERE fingerprint = \(first.fingerprint) FOR NO KEY UPDATE NOWAIT", logger: quietLogger
            ).single(Int32.self)
        }
        #expect(said?.sqlState == "55P03", "the waiting batch holds the first device already: \(String(describing: said))")
        signalRelease.finish()
        try await holder.value
        let results = try await batch.value
        #expect(results.allSatisfy { (try? $0.get()) == .recorded(.stored) })
        try await database.drop()
    }
}

/// LISTEN/NOTIFY between server processes sharing a database (issue 18): what one process wakes
/// reaches the waiters of another at once, not at their next look at the database.
@Suite struct PostgresWakeChannelTests {
    @Test func aWakeInOneProcessWakesAWaiterInAnother() async throws {
        let database = try await PostgresTestDatabase()
        let here = ShellProcessState(store: try await PostgresStore(pool: try database.open()), logger: quietLogger)
        let there = ShellProcessState(store: try await PostgresStore(pool: try database.open()), logger: quietLogger)
        let listening = Task { await there.listenToOtherProcesses() }
        defer { listening.cancel() }
        let key = ShellWaiters.frames("session-1", .deviceToAdmin)
        let ticket = there.waiters.register(key)
        // Nothing changed in the database: only the announcement can wake it. Announced again
        // until the listener, starting beside this, has begun to listen.
        var woken = false
        let deadline = ContinuousClock.now + .seconds(20)
        while !woken && ContinuousClock.now < deadline {
            here.waiters.wake(key)
            woken = await there.waiters.sleep(ticket, for: .milliseconds(250))
        }
        #expect(woken, "the other process's waiter was never woken")
        // Announcements still on their way are drained; then a wake meant for this process alone
        // stays here.
        while await there.waiters.sleep(ticket, for: .milliseconds(500)) {}
        here.waiters.wakeHere(key)
        #expect(await there.waiters.sleep(ticket, for: .seconds(1)) == false)
        there.waiters.unregister(ticket)
        try await database.drop()
    }
}

extension PostgresStore {
    /// Locks `fingerprint`'s device row as a submission does (FOR NO KEY UPDATE) in a transaction
    /// of its own, and returns once it is held: the task then runs `body` in that transaction and
    /// commits, releasing the row.
    func holdingDeviceRow(
        _ fingerprint: String, then body: @escaping @Sendable (PostgresConnection) async throws -> Void
    ) async -> Task<Void, any Error> {
        let (held, signalHeld) = AsyncStream<Void>.makeStream()
        let holder = Task {
            // Also when the transaction fails before the lock: the caller then learns why from the task.
            defer { signalHeld.finish() }
            try await pool.transaction { connection in
                try await connection.query(
                    "SELECT 1 FROM devices WHERE fingerprint = \(fingerprint) FOR NO KEY UPDATE", logger: quietLogger)
                signalHeld.finish()
                try await body(connection)
            }
        }
        for await _ in held {}
        return holder
    }
}
