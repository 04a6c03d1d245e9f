import Foundation
import PostgresNIO
import RookeryCore

extension PostgresStore: PatchStore {
    static let patchColumns = "id, fingerprint, target, action, mode, content, state, created_at, finished_at, message"

    typealias PatchRow = (Int64, String, String, String, Int64, Data, String, Date, Date?, String)

    static func patches(_ rows: PostgresRowSequence) async throws -> [Patch] {
        var patches: [Patch] = []
        for try await row in rows.decode(PatchRow.self) {
            patches.append(
                Patch(
                    id: row.0, fingerprint: row.1, target: row.2, action: PatchAction(rawValue: row.3) ?? .write,
                    mode: Int(row.4), content: row.5, state: PatchState(rawValue: row.6) ?? .pending, createdAt: row.7,
                    finishedAt: row.8, message: row.9))
        }
        return patches
    }

    public func recordUpdateRequest(fingerprint: String, release: Int) async throws -> [Patch]? {
        let logger = logger
        return try await transaction { connection in
            let accepted = try await connection.query(
                """
                UPDATE devices SET client_release = \(release) WHERE fingerprint = \(fingerprint) AND state = 'accepted'
                RETURNING fingerprint
                """, logger: logger
            ).single(String.self)
            guard accepted != nil else { return nil }
            return try await Self.patches(
                try await connection.query(
                    """
                    SELECT \(unescaped: Self.patchColumns) FROM patches
                    WHERE fingerprint = \(fingerprint) AND state = 'pending' ORDER BY id
                    """, logger: logger))
        }
    }

    public func queuePatch(_ patch: Patch) async throws -> Patch {
        let logger = logger
        do {
            return try await transaction { connection in
                var queued = patch
                queued.id =
                    try await connection.query(
                        """
                        INSERT INTO patches (fingerprint, target, action, mode, content, state, created_at, message)
                        VALUES (\(patch.fingerprint), \(patch.target), \(patch.action.rawValue), \(Int64(patch.mode)), \(patch.content),
                                \(patch.state.rawValue), \(patch.createdAt), \(patch.message))
                        RETURNING id
                        """, logger: logger
                    ).single(Int64.self) ?? 0
                try await Self.recordAgentWakeup(fingerprint: patch.fingerprint, at: Date(), on: connection, logger: logger)
                return queued
            }
        } catch let error as PostgresFailure where error.sqlState == "23505" {
            // patches_one_pending: a pending patch of this target on this device.
            throw StoreError.pendingPatchExists(target: patch.target)
        }
    }

    public func patches(fingerprint: String, includeFinished: Bool) async throws -> [Patch] {
        let query: PostgresQuery =
            if includeFinished {
                "SELECT \(unescaped: Self.patchColumns) FROM patches WHERE fingerprint = \(fingerprint) ORDER BY id"
            } else {
                """
                SELECT \(unescaped: Self.patchColumns) FROM patches WHERE fingerprint = \(fingerprint) AND state = 'pending'
                ORDER BY id
                """
            }
        return try await Self.patches(try await pool.query(query, logger: logger))
    }

    public func finishedPatchCount(fingerprint: String) async throws -> Int {
        try await pool.query(
            "SELECT count(*) FROM patches WHERE fingerprint = \(fingerprint) AND state <> 'pending'", logger: logger
        ).single(Int.self) ?? 0
    }

    public func finishPatch(
        id: Int64, fingerprint: String, target: String, state: PatchState,
        message: String, at: Date, byAcceptedDevice: Bool
    ) async throws -> Bool {
        let finished = try await pool.query(
            """
            UPDATE patches SET state = \(state.rawValue), message = \(message), finished_at = \(at)
            WHERE id = \(id) AND fingerprint = \(fingerprint) AND target = \(target) AND state = 'pending'
              AND (NOT \(byAcceptedDevice) OR EXISTS (SELECT 1 FROM devices WHERE fingerprint = \(fingerprint) AND state = 'accepted'))
            RETURNING id
            """, logger: logger
        ).single(Int64.self)
        return finished != nil
    }
}
