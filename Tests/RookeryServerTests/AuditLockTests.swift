import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryServer

/// One audit at a time across every host sharing a PostgreSQL database (issue 18): each host's
/// file lock covers only itself, so the database's lock is what keeps two hosts' audits from
/// both alerting the same issues.
@Suite struct AuditLockTests {
    static let catalog = try! CheckCatalog.parse(AuditLifecycleTests.checks, source: "test.yml")

    /// Two server hosts: install roots of their own, one database.
    static func twoHosts() async throws -> (AdminContext, AdminContext, PostgresTestDatabase, [Sandbox]) {
        let database = try await PostgresTestDatabase()
        let sandboxes = [try Sandbox(), try Sandbox()]
        var contexts: [AdminContext] = []
        for sandbox in sandboxes {
            let context = try await makeServerContext(sandbox) {
                $0.database = database.location.description
                $0.databasePasswordFile = database.passwordFile
            }
            contexts.append(context.admin)
        }
        return (contexts[0], contexts[1], database, sandboxes)
    }

    @Test func anAuditOnAnotherHostWaitsForTheOneRunning() async throws {
        let (first, second, database, sandboxes) = try await Self.twoHosts()
        let held = try await first.store.holdAuditLock()
        let finished = Locked(false)
        let audit = Task {
            _ = try await IssuesAudit(context: second, catalog: Self.catalog).run(.init()) { _ in }
            finished.withLock { $0 = true }
        }
        try await Task.sleep(for: .milliseconds(700))
        #expect(!finished.current, "the second host's audit waits while the first holds the lock")
        await held.release()
        try await audit.value
        #expect(finished.current)
        // Released by the audit when it ended: the first host takes it again at once.
        await (try await first.store.holdAuditLock()).release()
        withExtendedLifetime(sandboxes) {}
        try await database.drop()
    }

    @Test func aHostWhoseConnectionEndsLetsTheNextAuditRun() async throws {
        let database = try await PostgresTestDatabase()
        let dying = try await PostgresStore(pool: try database.open())
        _ = try await dying.holdAuditLock()
        // The process holding it dies: PostgreSQL ends its sessions, and their locks with them.
        let next = try await PostgresStore(pool: try database.open())
        let taken = Locked(false)
        let waiting = Task {
            let hold = try await next.holdAuditLock()
            taken.withLock { $0 = true }
            await hold.release()
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(!taken.current, "held by the other process")
        try await StoreBackend.execute(
            """
            SELECT pg_terminate_backend(pid) FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND ((classid::bigint << 32) | objid::bigint) = \(PostgresStore.auditLock)
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """, on: next)
        try await waiting.value
        #expect(taken.current)
        try await database.drop()
    }
}
