import Foundation
import RookeryCore

/// `configure-ports remove`: the port leaves the settings, once no accepted device reports on it
/// (or the admin forces it): removing a port devices' latest submissions came in on would cut
/// them off, and a device that cannot reach the server takes no release or patch that could
/// move it.
public struct PortRemoval: Sendable {
    let file: PortsFile
    let devices: DeviceAdmin

    public init(root: InstallRoot, store: any Store) {
        file = PortsFile(root: root)
        devices = DeviceAdmin(store: store)
    }

    /// Throws when the port is not configured (not found) or the file cannot be edited.
    public func remove(_ port: Int) throws {
        try file.change { ports in
            guard ports.contains(where: { $0.number == port }) else {
                throw AdminError.notFound("port \(port) is not configured", hint: "bin/configure_ports show lists them")
            }
            ports.removeAll { $0.number == port }
        }
    }

    /// A conflict naming the accepted devices whose latest submission came in on `port`.
    public func refuseWhileDevicesReport(on port: Int) async throws {
        let devices = try await devices.devices(reportingOn: port)
        guard !devices.isEmpty else { return }
        let shown = devices.prefix(Self.namesShown).map(\.hostname).joined(separator: ", ")
        let more = devices.count > Self.namesShown ? " and \(devices.count - Self.namesShown) more" : ""
        throw AdminError.conflict(
            """
            \(devices.count) accepted device\(devices.count == 1 ? "" : "s") still report\(devices.count == 1 ? "s" : "") on port \(port) \
            (\(shown)\(more)); removing it would cut them off. Move them first (docs/ports.md: a release whose \
            URL names the new port); once the port is deprecated, `bin/issues list --issue-name deprecated-port` \
            names those left after each audit
            """, hint: "`--force` removes the port anyway")
    }

    private static let namesShown = 10
}
