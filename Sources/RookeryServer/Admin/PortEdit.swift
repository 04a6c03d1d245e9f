import Foundation
import RookeryCore

/// `configure-ports add` and `set`: one port changed under the settings lock. A certificate that
/// client releases pin is not replaced without `force`, and a new self-signed pair takes its place
/// only once the settings edit went through.
public struct PortEdit: Sendable {
    /// What to serve on the port; nil leaves its TLS as it is.
    public enum Serving: Sendable {
        /// A new self-signed certificate for these host names or addresses.
        case selfSigned(names: [String], validDays: Int)
        /// This certificate (chain) and key, as absolute paths.
        case certificate(PortSettings.TLSFiles)
        case plainHTTP
    }

    public let port: Int
    public let adding: Bool
    public let serving: Serving?
    /// Mark the port deprecated (true), or not (false); nil leaves it.
    public let deprecated: Bool?
    /// Replace a certificate that client releases pin.
    public let force: Bool

    public init(port: Int, adding: Bool, serving: Serving?, deprecated: Bool?, force: Bool) {
        self.port = port
        self.adding = adding
        self.serving = serving
        self.deprecated = deprecated
        self.force = force
    }

    /// Throws (an AdminError of its kind, a SettingsError, a CertificateError) and leaves every
    /// file as it was.
    public func run(root: InstallRoot) throws {
        let file = PortsFile(root: root)
        var staged: ServerCertificateFiles.StagedPair?
        defer { staged?.discard() }
        let pinned = ServerCertificateFiles.pinnedFingerprints(try file.read(), root: root)
        try file.change { ports in
            let index = try slot(in: &ports)
            if servesNewCertificate, !force { try refuseIfPinned(ports[index], pinned: pinned, root: root) }
            staged = try apply(to: &ports[index], root: root)
        }
        try staged?.commit()
    }

    private var servesNewCertificate: Bool {
        switch serving {
        case .selfSigned?, .certificate?: true
        case .plainHTTP?, nil: false
        }
    }

    /// Where the port is in `ports`: appended when adding, found when setting.
    private func slot(in ports: inout [PortSettings]) throws -> Int {
        let existing = ports.firstIndex { $0.number == port }
        if adding {
            guard existing == nil else { throw AdminError.conflict("port \(port) is already configured; change it with set") }
            ports.append(PortSettings(number: port))
            return ports.count - 1
        }
        guard let existing else { throw AdminError.notFound("port \(port) is not configured; add it with add") }
        return existing
    }

    /// The port with this edit applied. A new self-signed pair is only staged (`run` commits it
    /// once the settings say so); every pair is loaded as the server would first.
    private func apply(to settings: inout PortSettings, root: InstallRoot) throws -> ServerCertificateFiles.StagedPair? {
        if let deprecated { settings.deprecated = deprecated }
        var staged: ServerCertificateFiles.StagedPair?
        switch serving {
        case .selfSigned(let names, let validDays)?:
            staged = try ServerCertificateFiles(root: root).stageSelfSigned(port: port, names: names, validDays: validDays)
            settings.tls = staged?.files
        case .certificate(let files)?:
            settings.tls = files
        case .plainHTTP?:
            settings.tls = nil
        case nil:
            break
        }
        if let tls = staged?.staged ?? settings.tls {
            // What the server would refuse in its settings is, here, a file the admin gave.
            do { _ = try ServerTLS.configuration(port: port, files: tls, root: root) } catch let refusal as SettingsError {
                throw AdminError.input(refusal.description)
            }
        }
        return staged
    }

    private func refuseIfPinned(_ current: PortSettings, pinned: Swift.Set<String>, root: InstallRoot) throws {
        guard let tls = current.tls, let serving = try? CertificateInfo.read(pemFile: root.resolve(tls.certificate)),
            serving.contains(where: { pinned.contains($0.sha256Fingerprint) })
        else { return }
        throw AdminError.conflict(
            """
            client releases pin the certificate port \(port) serves now: devices that pin only it would refuse the new one
            """, hint: "follow docs/certificates.md (RENEWING A PINNED CERTIFICATE), or give --force")
    }
}
