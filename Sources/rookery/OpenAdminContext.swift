import RookeryCore
import RookeryServer

/// Opens the settings and the store for an admin command (no keyring, pools or signing key);
/// what cannot be opened is exit 64.
func openAdminContext() throws -> AdminContext {
    try CommandFailure.opening { try AdminContext(root: InstallRoot.fromEnvironment()) }
}

/// The checks of server/issues.yml; issues.yml must be fixed before anything else (exit 64).
func loadCatalog(_ path: String) throws -> CheckCatalog {
    do {
        return try CheckCatalog.load(path: path)
    } catch let error as SettingsError {
        throw CommandFailure.unusable(error.description)
    }
}
