import Foundation
import Logging
import RookeryCore

/// What an admin command opens from an install root: the settings and the store, and nothing
/// that runs (no thread pool, keyring, authenticator, signing key or commit writer), so
/// `clients list` costs one settings read and one database open. `ServerContext` opens these
/// the same way, and the rest, for the server and for what signs.
public struct AdminContext: Sendable {
    public let root: InstallRoot
    public let settings: ServerSettings
    public let store: any Store

    public init(root: InstallRoot, settings: ServerSettings? = nil) async throws {
        let loaded = try settings ?? SettingsFile.load(ServerSettings.self, from: root.serverSettings)
        // Settings the server would refuse stop every command too (exit 64, docs/operations.md),
        // so a mistake shows up at once, not at the next restart. Both checks only read the settings.
        _ = try EndpointAuthenticator(settings: loaded)
        try EnrollmentTokenStrength.check(loaded)
        self.init(root: root, settings: loaded, store: try await Self.openStore(loaded, root: root))
    }

    init(root: InstallRoot, settings: ServerSettings, store: any Store) {
        self.root = root
        self.settings = settings
        self.store = store
    }

    /// The GnuPG home where the server caches device keys, for `clients forget` to drop one;
    /// nil while no server has made it.
    public var deviceKeyCache: OpenPGP? {
        FileManager.default.fileExists(atPath: root.serverDeviceKeyring) ? OpenPGP(homeDirectory: root.serverDeviceKeyring) : nil
    }

    /// The store the `database` setting names, migrated to this binary's schema.
    static func openStore(_ settings: ServerSettings, root: InstallRoot) async throws -> any Store {
        switch try DatabaseLocation.parse(settings.database) {
        case .sqlite(let path): return try openSQLite(root.resolve(path))
        case .postgres(let location): return try await openPostgres(location, settings: settings, root: root)
        }
    }

    private static func openSQLite(_ database: String) throws -> any Store {
        do {
            return try SQLiteStore(path: database)
        } catch {
            // SQLite's own words ("unable to open database file") do not say which file.
            throw SettingsError(
                "database: cannot open \(database) as a SQLite database (\(error)); "
                    + "check the setting, and that the server's user may write there", setting: ["database"])
        }
    }

    private static func openPostgres(_ location: PostgresLocation, settings: ServerSettings, root: InstallRoot) async throws
        -> any Store
    {
        let passwordFile = settings.databasePasswordFile.isEmpty ? nil : root.resolve(settings.databasePasswordFile)
        let password = try PostgresPool.password(file: passwordFile, environment: ProcessInfo.processInfo.environment)
        return try await openPostgres(location, password: password, connections: settings.databaseConnections)
    }

    /// A PostgreSQL store, migrated: reaching it and logging in bounded by `connect_timeout`
    /// (exit 3 past it, or when the login is refused), the migrations not.
    package static func openPostgres(_ location: PostgresLocation, password: String?, connections: Int) async throws
        -> PostgresStore
    {
        try await PostgresStore(pool: openPool(location, password: password, connections: connections))
    }

    /// A pool whose database answered, without touching its schema (the benchmarks make and
    /// drop databases through one): bounded as `openPostgres` is.
    package static func openPool(_ location: PostgresLocation, password: String?, connections: Int) async throws
        -> PostgresPool
    {
        // postgres-nio tells of its connections' comings and goings at info (one still being made
        // when a command exits, for one): what matters, the store says itself, in its own words.
        var logger = Logger(label: "rookery.database")
        logger.logLevel = .warning
        let pool = try PostgresPool(location: location, password: password, maximumConnections: connections, logger: logger)
        do {
            try await withOpeningDeadline(location) { try await pool.query("SELECT 1", logger: pool.logger) }
        } catch let error as DatabaseUnavailable {
            throw error
        } catch {
            throw DatabaseUnavailable(location: location, reason: "\(error)")
        }
        return pool
    }

    /// Reaching the database and logging in may take `connect_timeout` (the URL's, 30 s unless it
    /// says otherwise): postgres-nio keeps retrying a connection that fails, and a server that
    /// cannot reach its database should say so, not hang.
    private static func withOpeningDeadline(_ location: PostgresLocation, _ body: @escaping @Sendable () async throws -> Void)
        async throws
    {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await body()
                return true
            }
            group.addTask {
                try await Task.sleep(for: .seconds(location.connectTimeout))
                return false
            }
            defer { group.cancelAll() }
            guard try await group.next() == true else {
                throw DatabaseUnavailable(location: location, reason: "no answer within \(location.connectTimeout) s (connect_timeout)")
            }
        }
    }
}

/// The PostgreSQL database could not be reached or refused us: nothing is wrong with the
/// settings as written, so it is not exit 64 but 3, like any server that cannot be reached.
public struct DatabaseUnavailable: KindedError, CustomStringConvertible {
    public let location: PostgresLocation
    public let reason: String
    public var kind: ErrorKind { .unreachable }
    public var description: String {
        "database \(location.description): cannot open it (\(reason)); check that PostgreSQL runs there, "
            + "that the user may log in (password from database_password_file or ROOKERY_DATABASE_PASSWORD), and sslmode"
    }
}
