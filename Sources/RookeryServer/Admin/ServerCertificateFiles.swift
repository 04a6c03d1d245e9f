import Foundation
import RookeryCore

/// The certificate files `configure-ports` writes under server/tls/: a self-signed certificate
/// and key per port, and the bundle of CAs that client releases pin.
struct ServerCertificateFiles {
    let root: InstallRoot

    static let directory = "server/tls"
    static let clientBundle = directory + "/client-ca.pem"

    /// A new self-signed pair for `port`, written beside its final place: nothing the server uses
    /// changes until the caller commits it, after the settings edit went through.
    func stageSelfSigned(port: Int, names: [String], validDays: Int) throws -> StagedPair {
        let made = try SelfSignedCertificate(hostnames: names, validDays: validDays)
        let pair = StagedPair(
            files: .init(certificate: "\(Self.directory)/port-\(port).pem", key: "\(Self.directory)/port-\(port).key"),
            root: root)
        try prepareDirectory()
        // The server (group rookery) reads the key; nobody else may.
        try write(made.privateKeyPEM, to: pair.staged.key, mode: 0o640)
        try write(made.certificatePEM, to: pair.staged.certificate, mode: 0o644)
        return pair
    }

    /// A certificate and key written under temporary names, and the names they take on commit.
    struct StagedPair {
        /// As the settings write them (relative to the install root).
        let files: PortSettings.TLSFiles
        /// Where they go, and where they are until committed (both absolute).
        let final: PortSettings.TLSFiles, staged: PortSettings.TLSFiles

        init(files: PortSettings.TLSFiles, root: InstallRoot) {
            self.files = files
            final = .init(certificate: root.resolve(files.certificate), key: root.resolve(files.key))
            staged = .init(certificate: final.certificate + ".new", key: final.key + ".new")
        }

        func commit() throws {
            for (from, to) in [(staged.key, final.key), (staged.certificate, final.certificate)] where rename(from, to) != 0 {
                throw AtomicFile.posixError("cannot move \(from) to \(to)")
            }
        }

        /// Removes what was not committed (nothing, after a commit).
        func discard() {
            unlink(staged.key)
            unlink(staged.certificate)
        }
    }

    /// Writes the certificates of `sources`, and nothing else from them (a file that also holds a
    /// key does not ship it), beside server/tls/client-ca.pem; each is checked first. `commit`
    /// puts the bundle in place, once the settings name it.
    func stageClientBundle(from sources: [String]) throws -> (path: String, count: Int, commit: () throws -> Void) {
        var pem = ""
        var count = 0
        for source in sources {
            let pinnable = try CertificateInfo.pinnable(pemFile: source)
            pem += pinnable.pem
            count += pinnable.count
        }
        try prepareDirectory()
        let final = root.resolve(Self.clientBundle)
        try write(pem, to: final + ".new", mode: 0o644)
        return (
            Self.clientBundle, count,
            {
                guard rename(final + ".new", final) == 0 else {
                    throw AtomicFile.posixError("cannot move \(final).new to \(final)")
                }
            }
        )
    }

    /// The SHA-256 fingerprints of the certificates client releases pin now (none when unset).
    static func pinnedFingerprints(_ settings: ServerSettings, root: InstallRoot) -> Swift.Set<String> {
        guard !settings.clientCAFile.isEmpty,
            let pinned = try? CertificateInfo.read(pemFile: root.resolve(settings.clientCAFile))
        else { return [] }
        return Swift.Set(pinned.map(\.sha256Fingerprint))
    }

    private func prepareDirectory() throws {
        try FileManager.default.createDirectory(
            atPath: root.resolve(Self.directory), withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o755])
    }

    /// Whole or not at all; as root, owned by root with the settings file's group (the server's).
    private func write(_ text: String, to path: String, mode: mode_t) throws {
        let settings = try? FileManager.default.attributesOfItem(atPath: root.serverSettings)
        let owner = getuid() == 0 ? settings.flatMap(SettingsFileUpdate.owner).map { (uid_t(0), $0.1) } : nil
        do { try AtomicFile.write(Data(text.utf8), to: path, mode: mode, owner: owner) } catch {
            throw AdminError(.io, "cannot write \(path): \(error.localizedDescription)")
        }
    }
}
