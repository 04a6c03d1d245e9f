import Foundation
import PostgresNIO
import RookeryCore

extension PostgresStore {
    public func createGroup(_ group: DeviceGroup) async throws -> Bool {
        let logger = logger
        return try await transaction { connection in
            let rows = try await connection.query(
                """
                INSERT INTO device_groups (name, description, condition, created_by, created_at)
                VALUES (\(group.name), \(Self.storable(group.description)), \(group.condition.map(Self.storable)),
                        \(Self.storable(group.createdBy)), \(group.createdAt))
                ON CONFLICT (name) DO NOTHING RETURNING name
                """, logger: logger)
            var created = false
            for try await _ in rows { created = true }
            if created { try await Self.record(.creating(group), on: connection, logger: logger) }
            return created
        }
    }

    public func deleteGroup(named name: String, change: GroupChange) async throws -> Bool {
        let logger = logger
        return try await transaction { connection in
            let rows = try await connection.query("DELETE FROM device_groups WHERE name = \(name) RETURNING name", logger: logger)
            var deleted = false
            for try await _ in rows { deleted = true }
            if deleted { try await Self.record(change, on: connection, logger: logger) }
            return deleted
        }
    }

    public func groups() async throws -> [DeviceGroup] {
        let rows = try await pool.query(
            "SELECT name, description, condition, created_by, created_at FROM device_groups ORDER BY name COLLATE \"C\"",
            logger: logger)
        var groups: [DeviceGroup] = []
        for try await row in rows.decode((String, String, String?, String, Date).self) {
            groups.append(DeviceGroup(name: row.0, description: row.1, condition: row.2, createdBy: row.3, createdAt: row.4))
        }
        return groups
    }

    public func addMembers(_ fingerprints: [String], change: GroupChange) async throws -> Int {
        let logger = logger
        return try await transaction { connection in
            let rows = try await connection.query(
                """
                INSERT INTO group_members (group_name, fingerprint, added_by, added_at)
                SELECT \(change.group), fingerprint, \(Self.storable(change.by)), \(change.at)
                FROM unnest(\(fingerprints)::text[]) AS fingerprint
                ON CONFLICT (group_name, fingerprint) DO NOTHING RETURNING fingerprint
                """, logger: logger)
            var added = 0
            for try await _ in rows { added += 1 }
            if added > 0 { try await Self.record(change, on: connection, logger: logger) }
            return added
        }
    }

    public func removeMembers(_ fingerprints: [String], change: GroupChange) async throws -> Int {
        let logger = logger
        return try await transaction { connection in
            let rows = try await connection.query(
                """
                DELETE FROM group_members WHERE group_name = \(change.group) AND fingerprint = ANY(\(fingerprints)::text[])
                RETURNING fingerprint
                """, logger: logger)
            var removed = 0
            for try await _ in rows { removed += 1 }
            if removed > 0 { try await Self.record(change, on: connection, logger: logger) }
            return removed
        }
    }

    public func groupMembers(group: String?) async throws -> [GroupMember] {
        let rows = try await pool.query(
            """
            SELECT group_name, fingerprint, added_by, added_at FROM group_members
            WHERE \(group)::text IS NULL OR group_name = \(group)
            ORDER BY group_name COLLATE "C", fingerprint COLLATE "C"
            """, logger: logger)
        var members: [GroupMember] = []
        for try await row in rows.decode((String, String, String, Date).self) {
            members.append(GroupMember(group: row.0, fingerprint: row.1, addedBy: row.2, addedAt: row.3))
        }
        return members
    }

    public func groupChanges(group: String?, limit: Int) async throws -> [GroupChange] {
        let rows = try await pool.query(
            """
            SELECT at, changed_by, group_name, action, detail FROM group_changes
            WHERE \(group)::text IS NULL OR group_name = \(group)
            ORDER BY id DESC LIMIT \(limit)
            """, logger: logger)
        var changes: [GroupChange] = []
        for try await row in rows.decode((Date, String, String, String, String).self) {
            changes.append(
                GroupChange(at: row.0, by: row.1, group: row.2, action: GroupChange.Action(rawValue: row.3) ?? .added, detail: row.4))
        }
        return changes
    }

    private static func record(_ change: GroupChange, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO group_changes (at, changed_by, group_name, action, detail)
            VALUES (\(change.at), \(storable(change.by)), \(change.group), \(change.action.rawValue), \(storable(change.detail)))
            """, logger: logger)
    }
}
