import Foundation
import GRDB
import RookeryCore

extension SQLiteStore {
    public func commit(_ items: [CommitItem], pruneNoncesBefore: Date) async throws -> [Result<CommitOutcome, any Error>] {
        try await pool.writeWithoutTransaction { db in
            // What an answer promises. GRDB opens WAL databases with synchronous=NORMAL: a commit
            // survives the process being killed (it is in the WAL file), but the WAL is synced
            // only at checkpoints, so a power cut can take the last commits. A batch's items are
            // answered as done (`stored`), so its commit syncs the WAL first (FULL), one sync
            // for the whole batch. The pragma cannot change inside a transaction, so it is set
            // around this one and put back for the store's other writes (see docs/operations.md).
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Should putting it back fail, the connection stays FULL: slower, never less safe.
            defer { try? db.execute(sql: "PRAGMA synchronous = NORMAL") }
            var results: [Result<CommitOutcome, any Error>] = []
            try db.inTransaction {
                try db.cachedStatement(sql: "DELETE FROM nonces WHERE seen_at < ?").execute(arguments: [pruneNoncesBefore])
                results = try items.map { try Self.commit($0, in: db) }
                return .commit
            }
            return results
        }
    }

    /// One item, in a savepoint of its own inside the batch's transaction.
    private static func commit(_ item: CommitItem, in db: Database) throws -> Result<CommitOutcome, any Error> {
        var outcome = CommitOutcome.replay
        do {
            try db.inSavepoint {
                // Seen before, in an earlier batch or by an earlier item of this one.
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO nonces (nonce, seen_at) VALUES (?, ?)")
                    .execute(arguments: [item.nonce, item.seenAt])
                guard db.changesCount == 1 else { return .rollback }
                // A refused submission writes nothing (see `store`), and its nonce stays used;
                // but one checked against old selectors is checked again and comes back.
                let stored = try item.submission.map { try store($0, history: item.history, prepared: item.prepared, in: db) }
                outcome = .recorded(stored)
                if case .secretSelectorsChanged? = stored { return .rollback }
                return .commit
            }
            return .success(outcome)
        } catch {
            // The item's savepoint is rolled back and the others go on, unless the error ended
            // the transaction (SQLite rolls it back whole on a full disk or an I/O error): then
            // the batch fails, and no item is answered as done.
            guard db.isInsideTransaction else { throw error }
            return .failure(error)
        }
    }
}
