import Crypto
import Foundation
import GRDB
import PostgresNIO
import RookeryCore

/// `bin/migrate_store`: copies a SQLite installation into an empty PostgreSQL database, every
/// table and every row with its ids, in one PostgreSQL transaction, then reads both back and
/// compares, table by table, the number of rows and a checksum of their values.
///
/// The columns copied are PostgreSQL's (its schema is migrated first), each read from the SQLite
/// column of the same name and converted to the PostgreSQL column's type; a column SQLite lacks
/// stops the move before anything is written. Nothing is written into a database that holds a
/// row: a second run cannot mix two installations.
public struct StoreMigration: Sendable {
    /// One table's comparison.
    public struct TableReport: Sendable, Equatable {
        public let table: String
        public let rows: Int
        /// SHA-256 over the rows in key order, each value in one text form, as each side reads it.
        public let sourceChecksum: String
        public let targetChecksum: String
        public let targetRows: Int
        public var matches: Bool { rows == targetRows && sourceChecksum == targetChecksum }
    }

    /// A table, in an order where every row's references are copied before it, and its key.
    struct Table: Sendable {
        let name: String
        let key: [String]
    }

    static let tables: [Table] = [
        Table(name: "devices", key: ["fingerprint"]),
        Table(name: "forgotten_keys", key: ["fingerprint"]),
        Table(name: "device_renames", key: ["id"]),
        Table(name: "documents", key: ["fingerprint"]),
        Table(name: "changes", key: ["id"]),
        Table(name: "submissions", key: ["fingerprint", "submission_id"]),
        Table(name: "nonces", key: ["nonce"]),
        Table(name: "patches", key: ["id"]),
        Table(name: "issues", key: ["id"]),
        Table(name: "client_parameters", key: ["fingerprint", "name"]),
        Table(name: "device_links", key: ["fingerprint", "linked"]),
        Table(name: "secret_keeping", key: ["id"]),
        Table(name: "secret_selectors", key: ["selector"]),
        Table(name: "secret_access_log", key: ["id"]),
        Table(name: "shell_sessions", key: ["id"]),
        Table(name: "shell_frames", key: ["session_id", "direction", "seq"]),
        Table(name: "agent_wakeups", key: ["id"]),
        Table(name: "compliance_daily", key: ["check_name", "day"]),
        Table(name: "audit_runs", key: ["id"]),
        Table(name: "check_exceptions", key: ["id"]),
        Table(name: "device_groups", key: ["name"]),
        Table(name: "group_members", key: ["group_name", "fingerprint"]),
        Table(name: "group_changes", key: ["id"]),
        Table(name: "managed_configs", key: ["id"]),
        Table(name: "managed_states", key: ["fingerprint"])
    ]

    /// PostgreSQL columns SQLite has under another name: the order sessions were requested in
    /// is SQLite's rowid.
    static let sourceNames: [String: String] = ["shell_sessions.number": "rowid"]

    let source: SQLiteStore
    let target: PostgresStore

    public init(source: SQLiteStore, target: PostgresStore) {
        self.source = source
        self.target = target
    }

    /// Opens the SQLite file (which must exist) and the PostgreSQL database (migrated, and empty).
    public static func open(sqlite path: String, postgres location: PostgresLocation, password: String?) async throws
        -> StoreMigration
    {
        guard FileManager.default.fileExists(atPath: path) else {
            throw AdminError.notFound("there is no SQLite database at \(path)")
        }
        let source = try SQLiteStore(path: path)
        return StoreMigration(source: source, target: try await AdminContext.openPostgres(location, password: password, connections: 4))
    }

    /// Copies every table, then compares; throws before writing when the target holds a row.
    public func run(progress: (String) -> Void = { _ in }) async throws -> [TableReport] {
        let columns = try await targetColumns()
        try await requireEmptyTarget()
        try await target.pool.transaction { connection in
            for table in Self.tables {
                let copied = try await copy(table, columns: columns[table.name] ?? [], into: connection)
                progress("\(table.name): \(copied) rows")
            }
            try await resetSequences(on: connection)
        }
        // A database filled at once has no statistics until autovacuum gets to it; until then
        // the planner takes its tables for empty, and the audit's look-ups by hostname read every
        // device for each device.
        try await target.updateStatistics()
        return try await compare(columns: columns)
    }

    /// Reads every table back from both databases and compares them.
    func compare(columns: [String: [Column]]? = nil) async throws -> [TableReport] {
        var known = columns
        if known == nil { known = try await targetColumns() }
        let columns = known ?? [:]
        var reports: [TableReport] = []
        for table in Self.tables {
            reports.append(try await compare(table, columns: columns[table.name] ?? []))
        }
        return reports
    }

    /// A PostgreSQL column and its type, as information_schema names it.
    struct Column: Sendable {
        let name: String
        let type: String
    }

    private func targetColumns() async throws -> [String: [Column]] {
        var columns: [String: [Column]] = [:]
        let rows = try await target.pool.query(
            """
            SELECT table_name, column_name, data_type FROM information_schema.columns
            WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position
            """, logger: target.logger)
        for try await (table, name, type) in rows.decode((String, String, String).self) {
            columns[table, default: []].append(Column(name: name, type: type))
        }
        return columns
    }

    private func requireEmptyTarget() async throws {
        for table in Self.tables {
            let rows = try await target.pool.query(
                PostgresQuery(unsafeSQL: "SELECT EXISTS (SELECT 1 FROM \(table.name))"), logger: target.logger
            ).single(Bool.self)
            if rows == true {
                throw AdminError.conflict(
                    "database \(target.pool.location.description) is not empty (\(table.name) holds rows): "
                        + "migrate_store writes only into an empty database",
                    hint: "create a new database (createdb -O USER NAME) and name that one")
            }
        }
    }

    /// Copies one table in statements of at most ~60,000 values (PostgreSQL takes 65,535 per
    /// statement) and about 16 MB, reading SQLite 500 rows at a time: a table of any size, and
    /// documents of any size, in bounded memory.
    private func copy(_ table: Table, columns: [Column], into connection: PostgresConnection) async throws -> Int {
        let list = columns.map { "\"\($0.name)\"" }.joined(separator: ", ")
        let maxRows = max(1, 60_000 / max(columns.count, 1))
        var copied = 0
        func insert(_ rows: ArraySlice<[SQLiteValue]>) async throws {
            var query = PostgresQuery(unsafeSQL: "")
            var placeholders: [String] = []
            for (rowIndex, row) in rows.enumerated() {
                let marks = row.indices.map { "$\(rowIndex * row.count + $0 + 1)" }
                placeholders.append("(" + marks.joined(separator: ", ") + ")")
                for (value, column) in zip(row, columns) { try value.bind(as: column.type, into: &query.binds) }
            }
            query.sql = "INSERT INTO \(table.name) (\(list)) VALUES " + placeholders.joined(separator: ", ")
            try await connection.query(query, logger: target.logger)
            copied += rows.count
        }
        try await forEachSourceBatch(table, columns: columns.map(\.name), size: min(maxRows, 500)) { rows in
            var start = rows.startIndex
            var bytes = 0
            for index in rows.indices {
                bytes += rows[index].reduce(0) { $0 + $1.byteCount }
                if bytes >= Self.statementBytes || index + 1 - start >= maxRows || index == rows.endIndex - 1 {
                    try await insert(rows[start...index])
                    start = index + 1
                    bytes = 0
                }
            }
        }
        return copied
    }

    static let statementBytes = 16 * 1024 * 1024

    /// A table's rows from SQLite in key order, `size` at a time (each batch starts after the
    /// last one's key), each value as SQLite holds it.
    private func forEachSourceBatch(
        _ table: Table, columns: [String], size: Int, _ body: ([[SQLiteValue]]) async throws -> Void
    ) async throws {
        let list = columns.map { column in
            Self.sourceNames["\(table.name).\(column)"].map { "\($0) AS \"\(column)\"" } ?? "\"\(column)\""
        }.joined(separator: ", ")
        let keys = table.key.joined(separator: ", ")
        let keyIndexes = table.key.compactMap { columns.firstIndex(of: $0) }
        var after: [DatabaseValue]?
        while true {
            let start = after
            let rows: [[SQLiteValue]]
            do {
                rows = try await source.pool.read { db in
                    let filter = start == nil ? "" : " WHERE (\(keys)) > (\(keyIndexes.map { _ in "?" }.joined(separator: ", ")))"
                    return try Row.fetchAll(
                        db, sql: "SELECT \(list) FROM \(table.name)\(filter) ORDER BY \(keys) LIMIT \(size)",
                        arguments: StatementArguments(start ?? [])
                    ).map { row in columns.indices.map { SQLiteValue(row[$0] as DatabaseValue) } }
                }
            } catch let error as DatabaseError where error.message?.contains("no such column") == true {
                throw AdminError.conflict(
                    "the SQLite database lacks a column PostgreSQL's \(table.name) has (\(error.message ?? "")): "
                        + "open it with this version's server once, which migrates it, then run again")
            }
            guard let last = rows.last else { return }
            try await body(rows)
            if rows.count < size { return }
            after = keyIndexes.map { last[$0].value }
        }
    }

    /// Sequences start after the ids SQLite handed out, which AUTOINCREMENT never reuses: after
    /// the highest it ever gave (`sqlite_sequence`), not the highest left (a forgotten device's
    /// issues freed theirs), so an id an old report names never comes back on a new row.
    private func resetSequences(on connection: PostgresConnection) async throws {
        let handedOut = try await source.pool.read { db in
            try Dictionary(
                Row.fetchAll(db, sql: "SELECT name, seq FROM sqlite_sequence").map { ($0["name"] as String, $0["seq"] as Int64) },
                uniquingKeysWith: max)
        }
        for table in Self.tables where table.key == ["id"] || table.name == "shell_sessions" {
            let column = table.name == "shell_sessions" ? "number" : "id"
            let floor = table.name == "shell_sessions" ? 0 : handedOut[table.name] ?? 0
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: """
                        SELECT setval(pg_get_serial_sequence('\(table.name)', '\(column)'), \
                        greatest(coalesce((SELECT max(\(column)) FROM \(table.name)), 0), \(floor)) + 1, false)
                        """), logger: target.logger)
        }
    }

    // MARK: - Comparing

    private func compare(_ table: Table, columns: [Column]) async throws -> TableReport {
        let names = columns.map(\.name)
        var source = RowDigest()
        try await forEachSourceBatch(table, columns: names, size: 5000) { rows in
            for row in rows { source.add(zip(row, columns).map { $0.canonical(as: $1.type) }) }
        }
        var target = RowDigest()
        let list = names.map { "\"\($0)\"" }.joined(separator: ", ")
        // Text keys in byte order, as SQLite sorts them, whatever the database's locale.
        let order = table.key.map { key in
            columns.first { $0.name == key }?.type == "text" ? "\(key) COLLATE \"C\"" : key
        }.joined(separator: ", ")
        let rows = try await self.target.pool.query(
            PostgresQuery(unsafeSQL: "SELECT \(list) FROM \(table.name) ORDER BY \(order)"), logger: self.target.logger)
        for try await row in rows {
            target.add(try zip(row, columns).map { cell, column in try Self.canonical(cell, as: column.type) })
        }
        return TableReport(
            table: table.name, rows: source.rows, sourceChecksum: source.hex, targetChecksum: target.hex,
            targetRows: target.rows)
    }

    /// A PostgreSQL value in the text form `SQLiteValue.canonical` gives its SQLite twin.
    static func canonical(_ cell: PostgresCell, as type: String) throws -> String {
        switch type {
        case "bigint", "integer": return try cell.decode(Int64?.self).map { String($0) } ?? "null"
        case "boolean": return try cell.decode(Bool?.self).map { $0 ? "1" : "0" } ?? "null"
        case "timestamp with time zone":
            return try cell.decode(Date?.self).map(SQLiteValue.canonical(date:)) ?? "null"
        case "bytea": return try cell.decode(Data?.self).map { "x" + Hex.string($0) } ?? "null"
        default: return try cell.decode(String?.self).map { "t" + $0 } ?? "null"
        }
    }
}

/// One SQLite value, and how it is written into, and compared with, a PostgreSQL column.
struct SQLiteValue: Sendable {
    let value: DatabaseValue

    init(_ value: DatabaseValue) { self.value = value }

    private var date: Date? { Date.fromDatabaseValue(value) }
    private var integer: Int64? { Int64.fromDatabaseValue(value) }
    private var text: String? { String.fromDatabaseValue(value) }
    private var bytes: Data? { Data.fromDatabaseValue(value) }

    func bind(as type: String, into binds: inout PostgresBindings) throws {
        guard !value.isNull else { return binds.appendNull() }
        switch type {
        case "bigint", "integer": try binds.append(try required(integer, type))
        case "boolean": try binds.append(try required(integer, type) != 0)
        case "timestamp with time zone": try binds.append(try required(date, type))
        case "bytea": try binds.append(try required(bytes, type))
        default: try binds.append(PostgresStore.storable(try required(text, type)))
        }
    }

    /// About what the value takes in a statement.
    var byteCount: Int {
        switch value.storage {
        case .string(let text): text.utf8.count
        case .blob(let data): data.count
        default: 8
        }
    }

    private func required<Value>(_ converted: Value?, _ type: String) throws -> Value {
        guard let converted else {
            throw AdminError.input("a SQLite value (\(value.storage)) cannot be a PostgreSQL \(type)")
        }
        return converted
    }

    /// The value as the comparison writes it: SQLite keeps times to the millisecond.
    func canonical(as type: String) -> String {
        guard !value.isNull else { return "null" }
        switch type {
        case "bigint", "integer": return integer.map { String($0) } ?? "?"
        case "boolean": return integer.map { $0 != 0 ? "1" : "0" } ?? "?"
        case "timestamp with time zone": return date.map(Self.canonical(date:)) ?? "?"
        case "bytea": return bytes.map { "x" + Hex.string($0) } ?? "?"
        default: return text.map { "t" + PostgresStore.storable($0) } ?? "?"
        }
    }

    static func canonical(date: Date) -> String {
        String(Int64((date.timeIntervalSince1970 * 1000).rounded()))
    }
}

/// SHA-256 over rows, each value's length before it, so no two different rows read the same.
struct RowDigest {
    private var hash = SHA256()
    private(set) var rows = 0

    mutating func add(_ values: [String]) {
        for value in values {
            let bytes = Array(value.utf8)
            hash.update(data: Array("\(bytes.count):".utf8))
            hash.update(data: bytes)
        }
        hash.update(data: [0x0A])
        rows += 1
    }

    var hex: String { Hex.string(Data(hash.finalize())) }
}
