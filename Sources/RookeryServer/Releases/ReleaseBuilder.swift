import Foundation
import RookeryCore

/// Builds a client release tarball: the client files of a source tree (a checkout, or a server
/// root laid out by server-setup.sh), the `rookery-client` binary, the server's public key and the
/// settings devices should start from, all listed in a manifest signed by the server key.
///
/// A release carries nothing a device must keep from other devices: no private key, no password.
public struct ReleaseBuilder: Sendable {
    /// Copied from the source tree when present.
    static let sourceFiles = [
        "bin/_find-binary", "bin/_setup-common", "bin/client-cron", "bin/rookery-client",
        "client/client-setup.sh", "client/crontab", "client/settings.yml.template"
    ]
    /// Directories whose files (one level, regular files only) are copied.
    static let sourceDirectories = ["client/plugins"]

    let source: String
    let clientBinary: String
    let serverURL: String
    /// Several servers sharing one database, in order (devices' `server_urls`); empty: one.
    let serverURLs: [String]
    let enrollmentToken: String
    /// The CA (PEM) devices pin for the server's TLS certificate; nil: their system's CA store.
    let caFile: String?
    let signingKey: ServerSigningKey

    public init(
        source: String, clientBinary: String, serverURL: String, serverURLs: [String] = [], enrollmentToken: String,
        caFile: String? = nil, signingKey: ServerSigningKey
    ) {
        self.source = source
        self.clientBinary = clientBinary
        self.serverURL = serverURL
        self.serverURLs = serverURLs
        self.enrollmentToken = enrollmentToken
        self.caFile = caFile
        self.signingKey = signingKey
    }

    /// The gzip-compressed tarball of release `number`, and how many files it carries.
    public func build(number: Int, now: Date = Date()) async throws -> (tarball: Data, files: Int) {
        let files = try gatherFiles(number: number)
        let manifest = ReleaseManifest(
            release: number, createdAt: now,
            files: files.map { ReleaseManifest.File(path: $0.path, contents: $0.contents, mode: $0.mode) })
        let manifestBytes = try manifest.encoded()
        let signature = try await signingKey.sign(manifestBytes)
        // The manifest and its signature come first, so a device can check them before the rest.
        let members =
            [
                TarMember(path: ReleaseManifest.manifestName, mode: 0o644, contents: manifestBytes),
                TarMember(path: ReleaseManifest.signatureName, mode: 0o644, contents: signature)
            ] + files
        return (
            try Gzip.compress(try TarArchive.archive(members, modificationTime: Int(now.timeIntervalSince1970))),
            files.count
        )
    }

    func gatherFiles(number: Int) throws -> [TarMember] {
        var files: [TarMember] = []
        for path in Self.sourceFiles where FileManager.default.fileExists(atPath: source + "/" + path) {
            files.append(try Self.member(path, from: source + "/" + path))
        }
        for directory in Self.sourceDirectories {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: source + "/" + directory)) ?? []
            for name in names.sorted() where Self.isRegularFile(source + "/" + directory + "/" + name) {
                files.append(try Self.member(directory + "/" + name, from: source + "/" + directory + "/" + name))
            }
        }
        guard Self.isRegularFile(clientBinary) else {
            throw AdminError(.io, "no client binary at \(clientBinary); run bin/build-release first, or pass --binary")
        }
        files.append(try Self.member("lib/rookery/rookery-client", from: clientBinary, mode: 0o755))
        files.append(TarMember(path: "client/server-key.asc", mode: 0o644, contents: Data(try signingKey.publicKey().utf8)))
        if let caFile { files.append(TarMember(path: "client/server-ca.pem", mode: 0o644, contents: try Self.pinnedCA(caFile))) }
        // It may hold an enrollment token: root only on the device.
        files.append(TarMember(path: "client/release.yml", mode: 0o600, contents: Data(releaseSettings(number).utf8)))
        return files
    }

    /// What the device starts from; its own client/settings.yml overrides any of it.
    func releaseSettings(_ number: Int) -> String {
        Self.releaseSettings(number, serverURL: serverURL, serverURLs: serverURLs, enrollmentToken: enrollmentToken)
    }

    static func releaseSettings(_ number: Int, serverURL: String, serverURLs: [String], enrollmentToken: String) -> String {
        var lines = [
            "# Written by bin/client_release for release \(number). Releases replace this file;",
            "# put a device's own settings in client/settings.yml, which overrides it.",
            ClientSettingsFile.line("server_url", serverURL)
        ]
        if !serverURLs.isEmpty {
            lines.append(ClientSettingsFile.line("server_urls", serverURLs.joined(separator: " ")))
        }
        if !enrollmentToken.isEmpty {
            lines.append(ClientSettingsFile.line("enrollment_token", enrollmentToken))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The CA file's certificates, and only those (a private key beside them stays here), refused
    /// unless every one parses and none has expired: a release pinning a bad CA would cut off
    /// every device that installs it.
    static func pinnedCA(_ path: String) throws -> Data {
        do { return Data(try CertificateInfo.pinnable(pemFile: path).pem.utf8) } catch let error as CertificateError {
            throw SettingsError("client_ca_file: \(error)", setting: ["client_ca_file"])
        }
    }

    static func member(_ path: String, from file: String, mode: Int? = nil) throws -> TarMember {
        guard let contents = FileManager.default.contents(atPath: file) else {
            throw AdminError(.io, "cannot read \(file)")
        }
        let permissions = (try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int) ?? 0o644
        return TarMember(path: path, mode: mode ?? (permissions & 0o111 != 0 ? 0o755 : 0o644), contents: contents)
    }

    static func isRegularFile(_ path: String) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeRegular
    }
}
