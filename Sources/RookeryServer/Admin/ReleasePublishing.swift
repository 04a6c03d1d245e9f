import Foundation
import RookeryCore

/// `client-release`: a release built from a source tree and the client binary, carrying the URL
/// and the pinned CA the settings name, signed by the server's key, and added to the library.
/// It needs the signing key, so it takes the whole `ServerContext`.
public struct ReleasePublishing: Sendable {
    let context: ServerContext

    public init(context: ServerContext) { self.context = context }

    /// What was published, for the command to print.
    public struct Published: Sendable {
        public let record: ReleaseRecord
        public let tarball: String
        public let serverURL: String
        public let serverKey: String
        /// The CA bundle devices pin (absolute), nil when they use their system's CA store.
        public let pinnedCA: String?
    }

    /// The URL the next release carries: client_server_url, or the first of client_server_urls,
    /// or without either the first port that is not deprecated, on listen_host.
    public static func serverURL(_ settings: ServerSettings) -> String {
        guard settings.clientServerURL.isEmpty else { return settings.clientServerURL }
        if let first = settings.clientServerURLs.first { return first }
        let port = settings.listeningPorts.first { !$0.deprecated } ?? settings.listeningPorts[0]
        return "\(port.tls == nil ? "http" : "https")://\(settings.listenHost):\(port.number)"
    }

    /// `source`: the tree whose bin/ and client/ files are shipped (default: the install root);
    /// `binary`: the rookery-client to ship (default: lib/rookery/rookery-client of the root).
    /// `groups`: only their members are offered it (each must exist); nil: every device.
    public func publish(source: String?, binary: String?, groups: [String]? = nil) async throws -> Published {
        if let groups {
            let membership = try await GroupMembership.load(from: context.store)
            if let missing = groups.first(where: { !membership.exists($0) }) { throw GroupAdmin.noGroup(missing) }
        }
        let (root, settings) = (context.root, context.settings)
        let url = Self.serverURL(settings)
        let pinnedCA = settings.clientCAFile.isEmpty ? nil : root.resolve(settings.clientCAFile)
        let signingKey = try context.signingKey()
        let builder = ReleaseBuilder(
            source: source ?? root.path, clientBinary: binary ?? root.path + "/lib/rookery/rookery-client",
            serverURL: url, serverURLs: settings.clientServerURLs, enrollmentToken: settings.clientEnrollmentToken,
            caFile: pinnedCA, signingKey: signingKey)
        let record = try await context.releases.publish(groups: groups) { try await builder.build(number: $0) }
        return Published(
            record: record, tarball: context.releases.tarballPath(record.number), serverURL: url,
            serverKey: signingKey.fingerprint, pinnedCA: pinnedCA)
    }
}
