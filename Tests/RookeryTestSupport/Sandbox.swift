import Foundation
import RookeryCore

/// A throw-away directory under /tmp for one test, removed when the test is done.
///
/// Its path is short on purpose: gpg-agent's socket lives in the GnuPG home and socket paths are
/// limited to about 100 characters. Every gpg-agent started for a GnuPG home inside the sandbox
/// is stopped before the directory goes, so tests leave no daemons behind.
public final class Sandbox: Sendable {
    public let path: String
    /// The PostgreSQL databases of this sandbox's server roots (see `write`), by root.
    private let databases = Locked([String: SharedPostgresDatabase]())

    public init() throws {
        // Whatever a test runs from here on may wipe only sandbox roots (see SystemWipe).
        setenv("ROOKERY_SANDBOX_ONLY", "1", 1)
        var template = Array("/tmp/rkt-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SettingsError("cannot make a directory in /tmp") }
        path = String(cString: made)
    }

    /// Makes (if needed) and returns `<sandbox>/<relative>`.
    public func directory(_ relative: String) throws -> String {
        let directory = path + "/" + relative
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Writes a file at `<sandbox>/<relative>`, making its directories.
    ///
    /// In bin/test's PostgreSQL round of the end-to-end suites, a server's settings file written
    /// here that names no database gets the lines of a PostgreSQL database of its own (one per
    /// install root, dropped with the sandbox): every end-to-end test runs on PostgreSQL unchanged.
    public func write(_ text: String, to relative: String, mode: Int = 0o644) throws {
        let file = path + "/" + relative
        _ = try directory((relative as NSString).deletingLastPathComponent)
        let text = try text + databaseLines(forSettings: relative, text: text)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file)
    }

    /// The PostgreSQL database `write` gave the install root at `root`; nil: its SQLite file.
    public func postgresDatabase(ofRoot root: String) -> SharedPostgresDatabase? {
        databases.current[(root as NSString).standardizingPath]
    }

    private func databaseLines(forSettings relative: String, text: String) throws -> String {
        guard SharedPostgresDatabase.isThisRunsBackend, relative.hasSuffix("server/settings.yml"),
            !text.hasPrefix("database:"), !text.contains("\ndatabase:")
        else { return "" }
        let root = ((path + "/" + relative) as NSString).deletingLastPathComponent.dropLast("/server".count)
        let key = (String(root) as NSString).standardizingPath
        // Made under the lock: two writes for one root at once share one database.
        let database = try databases.withLock { databases in
            if let known = databases[key] { return known }
            let made = try SharedPostgresDatabase()
            databases[key] = made
            return made
        }
        return (text.hasSuffix("\n") || text.isEmpty ? "" : "\n") + database.settingsLines
    }

    deinit {
        for home in Set(agentHomes()) { OpenPGP(homeDirectory: home).stopAgent() }
        for database in databases.current.values { database.drop() }
        try? FileManager.default.removeItem(atPath: path)
    }

    /// GnuPG homes in the sandbox: directories holding a keyring. (gpg-agent's socket may live
    /// under /run/user instead, so the socket itself is no guide.)
    private func agentHomes() -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: path) else { return [] }
        return walker.compactMap { entry in
            guard let relative = entry as? String,
                relative.hasSuffix("pubring.kbx") || relative.hasSuffix("private-keys-v1.d")
            else { return nil }
            return path + "/" + (relative as NSString).deletingLastPathComponent
        }
    }
}
