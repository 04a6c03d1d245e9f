import Foundation
import RookeryCore

/// What an admin command opens from an install root: the settings and the store, and nothing
/// that runs (no thread pool, keyring, authenticator, signing key or commit writer), so
/// `clients list` costs one settings read and one database open. `ServerContext` opens these
/// the same way, and the rest, for the server and for what signs.
public struct AdminContext: Sendable {
    public let root: InstallRoot
    public let settings: ServerSettings
    public let store: any Store

    public init(root: InstallRoot, settings: ServerSettings? = nil) throws {
        let loaded = try settings ?? SettingsFile.load(ServerSettings.self, from: root.serverSettings)
        // Settings the server would refuse stop every command too (exit 64, docs/operations.md),
        // so a mistake shows up at once, not at the next restart. Both checks only read the settings.
        _ = try EndpointAuthenticator(settings: loaded)
        try EnrollmentTokenStrength.check(loaded)
        self.init(root: root, settings: loaded, store: try Self.openStore(loaded, root: root))
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

    static func openStore(_ settings: ServerSettings, root: InstallRoot) throws -> any Store {
        let path: String
        switch try DatabaseLocation.parse(settings.database) {
        case .sqlite(let file): path = file
        case .postgres(let location):
            throw SettingsError(
                "database \(location.description): the PostgreSQL backend is not finished yet; "
                    + "use a SQLite file path (docs/scaling.md says what works with several processes today)",
                setting: ["database"])
        }
        let database = root.resolve(path)
        do {
            return try SQLiteStore(path: database)
        } catch {
            // SQLite's own words ("unable to open database file") do not say which file.
            throw SettingsError(
                "database: cannot open \(database) as a SQLite database (\(error)); "
                    + "check the setting, and that the server's user may write there", setting: ["database"])
        }
    }
}
