import Foundation
import RookeryCore
import RookeryServer

/// The certificate files `configure-ports` writes under server/tls/: a self-signed certificate
/// and key per port, and the bundle of CAs that client releases pin.
struct ServerCertificateFiles {
    let root: InstallRoot

    static let directory = "server/tls"

    /// Makes a new self-signed certificate for `port`; returns the paths as the settings write them.
    func write(port: Int, names: [String], validDays: Int) throws -> PortSettings.TLSFiles {
        let made = try SelfSignedCertificate(hostnames: names, validDays: validDays)
        let files = PortSettings.TLSFiles(certificate: "\(Self.directory)/port-\(port).pem",
                                          key: "\(Self.directory)/port-\(port).key")
        try prepareDirectory()
        // The server (group rookery) reads the key; nobody else may.
        try replace(root.resolve(files.key), with: made.privateKeyPEM, mode: 0o640)
        try replace(root.resolve(files.certificate), with: made.certificatePEM, mode: 0o644)
        return files
    }

    /// Copies every certificate of `sources` into server/tls/client-ca.pem, each checked first.
    func writeClientBundle(from sources: [String]) throws -> (path: String, count: Int) {
        var pem = "", count = 0
        for source in sources {
            guard let text = try? String(contentsOfFile: source, encoding: .utf8) else {
                throw SettingsError("cannot read \(source)")
            }
            let certificates = try CertificateInfo.parse(pem: text, source: source)
            for certificate in certificates where certificate.notValidAfter < Date() {
                throw SettingsError("\(source): \(certificate.subject) expired \(certificate.notValidAfter); pin a current one")
            }
            pem += Self.certificateBlocks(text).joined()
            count += certificates.count
        }
        let path = "\(Self.directory)/client-ca.pem"
        try prepareDirectory()
        try replace(root.resolve(path), with: pem, mode: 0o644)
        return (path, count)
    }

    /// Only the CERTIFICATE blocks: a file that also holds a private key must not ship it to devices.
    static func certificateBlocks(_ text: String) -> [String] {
        let pattern = "-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\\s]+-----END CERTIFICATE-----"
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range, in: text).map { String(text[$0]) + "\n" }
        }
    }

    private func prepareDirectory() throws {
        try FileManager.default.createDirectory(atPath: root.resolve(Self.directory), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
    }

    /// Whole or not at all; as root, owned by root with the settings file's group (the server's).
    private func replace(_ path: String, with text: String, mode: mode_t) throws {
        let settings = try? FileManager.default.attributesOfItem(atPath: root.serverSettings)
        let owner = getuid() == 0 ? settings.flatMap(SettingsFileUpdate.owner).map { (uid_t(0), $0.1) } : nil
        do { try AtomicFile.write(Data(text.utf8), to: path, mode: mode, owner: owner) }
        catch { throw SettingsError("cannot write \(path): \(error.localizedDescription)") }
    }
}
