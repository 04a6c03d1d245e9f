import Foundation
import Logging
import RookeryCore

/// Everything the server and the admin commands open from an install root: settings, store, keyring.
public struct ServerContext: Sendable {
    public let root: InstallRoot
    public let settings: ServerSettings
    public let store: any Store
    public let keyring: ServerKeyring

    /// `verifyWorkerExecutable`: the `rookery` binary to run signature checks in (see
    /// `VerifierWorkerPool`); nil checks them in this process, which suits admin commands and tests.
    public init(root: InstallRoot, settings: ServerSettings? = nil, verifyWorkerExecutable: String? = nil) throws {
        self.root = root
        let loaded = try settings ?? SettingsFile.load(ServerSettings.self, from: root.serverSettings)
        self.settings = loaded
        guard !loaded.database.contains("://") else {
            throw SettingsError("database \(loaded.database): only a SQLite file path is supported so far")
        }
        store = try SQLiteStore(path: root.resolve(loaded.database))
        keyring = try ServerKeyring(
            homeDirectory: root.serverGnuPGHome, scratchDirectory: root.serverState + "/scratch",
            pool: BlockingPool(width: loaded.verifyThreads),
            verifier: verifyWorkerExecutable.map {
                VerifierWorkerPool(executable: $0, homeDirectory: root.serverGnuPGHome)
            })
    }
}
