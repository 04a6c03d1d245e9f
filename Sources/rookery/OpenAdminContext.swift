import RookeryCore
import RookeryServer

/// Opens the settings and the store for an admin command (no keyring, pools or signing key);
/// what cannot be opened is exit 64 (3 for a database server that cannot be reached).
func openAdminContext() async throws -> AdminContext {
    try await CommandFailure.openingAsynchronously { try await AdminContext(root: InstallRoot.fromEnvironment()) }
}
