import Foundation
import RookeryCore

/// `remote_shells: true` needs `endpoint_auth.pipe_create` to allow someone: otherwise whoever
/// reaches the port could open a root shell on every device. The server refuses to start instead.
enum RemoteShellRequirement {
    static func check(_ settings: ServerSettings) throws {
        guard settings.remoteShells else { return }
        guard let auth = settings.endpointAuth[ShellAdminAuth.endpoint], !auth.isEmpty else {
            throw SettingsError(
                """
                remote_shells is true but endpoint_auth.pipe_create allows no address, user, group or password: \
                anyone reaching the server could open a root shell on every device. Give pipe_create ip_ranges, \
                users, groups or passwords (docs/authentication.md), or set remote_shells: false \
                (see docs/remote-shell.md)
                """, setting: ["endpoint_auth", ShellAdminAuth.endpoint])
        }
    }
}
