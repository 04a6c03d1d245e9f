import RookeryCore
import RookeryServer

/// Opens the settings and the store for an admin command (no keyring, pools or signing key);
/// what cannot be opened is exit 64.
func openAdminContext() throws -> AdminContext {
    try CommandFailure.opening { try AdminContext(root: InstallRoot.fromEnvironment()) }
}
