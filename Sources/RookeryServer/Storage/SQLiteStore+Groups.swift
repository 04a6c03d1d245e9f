import Foundation
import GRDB
import RookeryCore

extension SQLiteStore {
    public func createGroup(_ group: DeviceGroup) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO device_groups (name, description, condition, created_by, created_at)
                    VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING
                    """,
                arguments: [group.name, group.description, group.condition, group.createdBy, group.createdAt])
            guard db.changesCount == 1 else { return false }
            try Self.record(GroupChange.creating(group), in: db)
            return true
        }
    }

    public func deleteGroup(named name: String, change: GroupChange) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM device_groups WHERE name = ?", arguments: [name])
            guard db.changesCount == 1 else { return false }
            try Self.record(change, in: db)
            return true
        }
    }

    public func groups() async throws -> [DeviceGroup] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM device_groups ORDER BY name").map {
                DeviceGroup(
                    name: $0["name"], description: $0["description"], condition: $0["condition"], createdBy: $0["created_by"],
                    createdAt: $0["created_at"])
            }
        }
    }

    public func addMembers(_ fingerprints: [String], change: GroupChange) async throws -> Int {
        try await pool.write { db in
            var added = 0
            for fingerprint in fingerprints {
                try db.execute(
                    sql: """
                        INSERT INTO group_members (group_name, fingerprint, added_by, added_at) VALUES (?, ?, ?, ?)
                        ON CONFLICT (group_name, fingerprint) DO NOTHING
                        """,
                    arguments: [change.group, fingerprint, change.by, change.at])
                added += db.changesCount
            }
            if added > 0 { try Self.record(change, in: db) }
            return added
        }
    }

    public func removeMembers(_ fingerprints: [String], change: GroupChange) async throws -> Int {
        try await pool.write { db in
            var removed = 0
            for fingerprint in fingerprints {
                try db.execute(
                    sql: "DELETE FROM group_members WHERE group_name = ? AND fingerprint = ?",
                    arguments: [change.group, fingerprint])
                removed += db.changesCount
            }
            if removed > 0 { try Self.record(change, in: db) }
            return removed
        }
    }

    public func groupMembers(group: String?) async throws -> [GroupMember] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM group_members WHERE ?1 IS NULL OR group_name = ?1 ORDER BY group_name, fingerprint",
                arguments: [group]
            ).map {
                GroupMember(group: $0["group_name"], fingerprint: $0["fingerprint"], addedBy: $0["added_by"], addedAt: $0["added_at"])
            }
        }
    }

    public func groupChanges(group: String?, limit: Int) async throws -> [GroupChange] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM group_changes WHERE ?1 IS NULL OR group_name = ?1 ORDER BY id DESC LIMIT ?2",
                arguments: [group, limit]
            ).map {
                GroupChange(
                    at: $0["at"], by: $0["changed_by"], group: $0["group_name"],
                    action: GroupChange.Action(rawValue: $0["action"]) ?? .added, detail: $0["detail"])
            }
        }
    }

    private static func record(_ change: GroupChange, in db: Database) throws {
        try db.execute(
            sql: "INSERT INTO group_changes (at, changed_by, group_name, action, detail) VALUES (?, ?, ?, ?, ?)",
            arguments: [change.at, change.by, change.group, change.action.rawValue, change.detail])
    }
}
