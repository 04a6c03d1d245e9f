import Foundation
import RookeryCore

/// `configure-ports client`: the URL and the pinned CAs the next client release carries. Every
/// certificate source is checked first; then the bundle is staged, the settings edited in one go,
/// and the bundle put in place once the settings name it.
public struct ClientConnectionEdit: Sendable {
    public let url: String?
    /// PEM files (absolute paths) and configured TLS ports whose certificates devices pin.
    public let caFiles: [String], caFromPorts: [Int]
    /// Pin nothing: devices use their system's CA store.
    public let noCA: Bool

    public init(url: String?, caFiles: [String], caFromPorts: [Int], noCA: Bool) {
        self.url = url
        self.caFiles = caFiles
        self.caFromPorts = caFromPorts
        self.noCA = noCA
    }

    /// Returns the bundle written and how many certificates it holds, when there was one to
    /// write. Throws, and leaves every file as it was, on a source that cannot be pinned.
    @discardableResult
    public func run(root: InstallRoot) throws -> (path: String, count: Int)? {
        let file = PortsFile(root: root)
        let settings = try file.read()
        let sources = try caFiles + caFromPorts.map { try Self.certificate(ofPort: $0, in: settings, root: root) }
        var changes: [String: String] = [:]
        if let url { changes["client_server_url"] = url }
        if noCA { changes["client_ca_file"] = "" }
        guard !sources.isEmpty else {
            try file.set(changes)
            return nil
        }
        let bundle = try ServerCertificateFiles(root: root).stageClientBundle(from: sources)
        defer { unlink(root.resolve(bundle.path) + ".new") }
        changes["client_ca_file"] = bundle.path
        try file.set(changes)
        try bundle.commit()
        return (bundle.path, bundle.count)
    }

    static func certificate(ofPort port: Int, in settings: ServerSettings, root: InstallRoot) throws -> String {
        guard let configured = settings.listeningPorts.first(where: { $0.number == port }) else {
            throw AdminError.notFound("port \(port) is not configured", hint: "bin/configure_ports show lists them")
        }
        guard let tls = configured.tls else { throw AdminError.input("port \(port) serves plain HTTP: it has no certificate to pin") }
        return root.resolve(tls.certificate)
    }
}
