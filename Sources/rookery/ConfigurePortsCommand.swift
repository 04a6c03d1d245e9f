import ArgumentParser
import Foundation
import RookeryCore
import RookeryServer

struct ConfigurePortsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "configure-ports",
        abstract: "Show and change the ports the server listens on, their TLS, and what clients pin.",
        discussion: """
            Edits the port setting of server/settings.yml (a listen_port there becomes a port list), \
            keeping the rest of the file; restart the server afterwards. A self-signed certificate \
            and its key go to server/tls/port-PORT.pem and .key. `client` sets what the next \
            bin/client_release carries: the URL devices use and the CA they pin (a copy in \
            server/tls/client-ca.pem). See docs/ports.md and docs/certificates.md.
            Exit codes (nothing changed unless 0): 0 done, 1 failure, 4 no such port, 5 a port devices \
            still report on or a pinned certificate without --force, 64 usage error or settings that cannot \
            be used, 65 a certificate refused, 74 a file that cannot be written.
            """,
        subcommands: [Show.self, Add.self, Remove.self, SetPort.self, Client.self],
        defaultSubcommand: Show.self)
}

/// What `add` and `set` may say about one port.
struct PortOptions: ParsableArguments {
    @Option(name: .customLong("tls-self-signed"), help: ArgumentHelp(
        "Serve TLS with a new self-signed certificate for this host name or address (repeat for more names).",
        valueName: "HOSTNAME"))
    var selfSignedNames: [String] = []
    @Option(help: "Serve TLS with this PEM certificate (chain) file.") var certificate: String?
    @Option(help: "The PEM private key of --certificate.") var key: String?
    @Flag(name: .customLong("no-tls"), help: "Serve plain HTTP on this port.") var noTLS = false
    @Flag(inversion: .prefixedNo, help: "Mark the port deprecated, or not: still served, but bin/issues names devices using it.")
    var deprecated: Bool?
    @Option(help: "Days a self-signed certificate is valid.") var validDays: Int?
    @Flag(help: "Replace a certificate that client releases pin (devices that pin only it are cut off).") var force = false

    var newCertificate: Bool { !selfSignedNames.isEmpty || certificate != nil }

    func validate() throws {
        let choices = [!selfSignedNames.isEmpty, certificate != nil || key != nil, noTLS].filter { $0 }.count
        guard choices <= 1 else { throw ValidationError("give one of --tls-self-signed, --certificate/--key, --no-tls") }
        guard (certificate == nil) == (key == nil) else { throw ValidationError("--certificate and --key go together") }
        if validDays != nil, selfSignedNames.isEmpty { throw ValidationError("--valid-days goes with --tls-self-signed") }
        if let validDays, !SelfSignedCertificate.validDaysRange.contains(validDays) {
            let days = SelfSignedCertificate.validDaysRange
            throw ValidationError("--valid-days \(validDays): a certificate is valid for \(days.lowerBound) to \(days.upperBound) days")
        }
    }

    /// The port with these options applied. A new self-signed pair is only staged (the caller
    /// commits it once the settings say so); every pair is loaded as the server would first.
    func apply(to port: inout PortSettings, root: InstallRoot) throws -> ServerCertificateFiles.StagedPair? {
        if let deprecated { port.deprecated = deprecated }
        if noTLS { port.tls = nil }
        if let certificate, let key { port.tls = .init(certificate: absolutePath(certificate), key: absolutePath(key)) }
        var staged: ServerCertificateFiles.StagedPair?
        if !selfSignedNames.isEmpty {
            staged = try ServerCertificateFiles(root: root)
                .stageSelfSigned(port: port.number, names: selfSignedNames, validDays: validDays ?? 825)
            port.tls = staged?.files
        }
        if let tls = staged?.staged ?? port.tls {
            // What the server would refuse in its settings is, here, a file the admin gave.
            do { _ = try ServerTLS.configuration(port: port.number, files: tls, root: root) }
            catch let refusal as SettingsError { throw AdminError.input(refusal.description) }
        }
        return staged
    }
}

/// `path` as given if absolute, else from the current directory: settings resolve relative paths
/// against the install root, which is rarely where the admin stands.
func absolutePath(_ path: String) -> String {
    path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

extension ConfigurePortsCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the ports, their TLS certificates, and what clients pin.")
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let root = InstallRoot.fromEnvironment()
            let settings = try PortsFile(root: root).read()
            print(json ? PortsFormatter.json(settings, root: root) : PortsFormatter.text(settings, root: root))
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Listen on one more port.")
        @Argument(help: "The port number.") var port: Int
        @OptionGroup var options: PortOptions

        func validate() throws { try checkPortNumber(port) }

        func run() throws {
            try PortEdit(port: port, options: options, adding: true).run()
            print("added port \(port); restart the server to listen on it")
        }
    }

    struct SetPort: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Change a port's TLS or deprecation.")
        @Argument(help: "The port number.") var port: Int
        @OptionGroup var options: PortOptions

        func validate() throws {
            guard options.newCertificate || options.noTLS || options.deprecated != nil else {
                throw ValidationError("nothing to change; give --tls-self-signed, --certificate/--key, --no-tls or --[no-]deprecated")
            }
        }

        func run() throws {
            try PortEdit(port: port, options: options, adding: false).run()
            print("changed port \(port); restart the server to use it")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop listening on a port (its certificate files stay).",
            discussion: """
                Refused while accepted devices still report on the port (their latest submission came in \
                on it): they would be cut off. Move them first (docs/ports.md), or give --force.
                """)
        @Argument(help: "The port number.") var port: Int
        @Flag(help: "Remove the port even though devices still report on it.") var force = false

        func run() async throws {
            let root = InstallRoot.fromEnvironment()
            if !force { try await refuseWhileDevicesReport() }
            try PortsFile(root: root).change { ports in
                guard ports.contains(where: { $0.number == port }) else { throw AdminError.notFound("port \(port) is not configured", hint: "bin/configure_ports show lists them") }
                ports.removeAll { $0.number == port }
            }
            print("removed port \(port); restart the server. Devices still using it will fail to reach the server; "
                  + "`bin/issues list --issue-name deprecated-port` names those still on deprecated ports")
        }

        /// A conflict naming the devices while any accepted device's latest submission came in on
        /// the port: removing it would cut them off, and a device that cannot reach the server
        /// takes no release or patch that could move it.
        private func refuseWhileDevicesReport() async throws {
            let devices = try await DeviceAdmin(context: openServerContext()).devices(reportingOn: port)
            guard !devices.isEmpty else { return }
            let shown = devices.prefix(Self.namesShown).map(\.hostname).joined(separator: ", ")
            let more = devices.count > Self.namesShown ? " and \(devices.count - Self.namesShown) more" : ""
            throw AdminError.conflict("""
                \(devices.count) accepted device\(devices.count == 1 ? "" : "s") still report\(devices.count == 1 ? "s" : "") on port \(port) \
                (\(shown)\(more)); removing it would cut them off. Move them first (docs/ports.md: a release whose \
                URL names the new port); once the port is deprecated, `bin/issues list --issue-name deprecated-port` \
                names those left after each audit
                """, hint: "`--force` removes the port anyway")
        }

        private static let namesShown = 10
    }
}

/// `add` and `set`: one port changed under the settings lock. A certificate that client releases
/// pin is not replaced without --force, and a new self-signed pair takes its place only once the
/// settings edit went through.
struct PortEdit {
    let port: Int
    let options: PortOptions
    let adding: Bool

    func run() throws {
        let root = InstallRoot.fromEnvironment()
        let file = PortsFile(root: root)
        var staged: ServerCertificateFiles.StagedPair?
        defer { staged?.discard() }
        let pinned = ServerCertificateFiles.pinnedFingerprints(try file.read(), root: root)
        try file.change { ports in
            let index = try slot(in: &ports)
            if options.newCertificate, !options.force { try refuseIfPinned(ports[index], pinned: pinned, root: root) }
            staged = try options.apply(to: &ports[index], root: root)
        }
        try staged?.commit()
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

    private func refuseIfPinned(_ current: PortSettings, pinned: Swift.Set<String>, root: InstallRoot) throws {
        guard let tls = current.tls, let serving = try? CertificateInfo.read(pemFile: root.resolve(tls.certificate)),
              serving.contains(where: { pinned.contains($0.sha256Fingerprint) }) else { return }
        throw AdminError.conflict("""
            client releases pin the certificate port \(port) serves now: devices that pin only it would refuse the new one
            """, hint: "follow docs/certificates.md (RENEWING A PINNED CERTIFICATE), or give --force")
    }
}

func checkPortNumber(_ port: Int) throws {
    guard (1...65535).contains(port) else { throw ValidationError("a port is a number from 1 to 65535") }
}

extension ConfigurePortsCommand {
    struct Client: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set the URL and the pinned CA that the next client release carries.",
            discussion: """
                --ca-file and --ca-from-port may be given several times (and together): every certificate \
                goes into one bundle, server/tls/client-ca.pem, which devices pin. Pin the old and the \
                new certificate together while devices move from one to the other. --no-ca: devices \
                trust their system's CAs (for a certificate from a public CA).
                """)
        @Option(help: "The URL devices reach the server at, such as https://rookery.example.com:8443.") var url: String?
        @Option(help: "Pin the CA certificates in this PEM file.") var caFile: [String] = []
        @Option(help: "Pin the certificate this configured TLS port serves.") var caFromPort: [Int] = []
        @Flag(name: .customLong("no-ca"), help: "Pin nothing: devices use their system's CA store.") var noCA = false

        func validate() throws {
            if let url, URLComponents(string: url).map({ ["http", "https"].contains($0.scheme ?? "") && !($0.host ?? "").isEmpty }) != true {
                throw ValidationError("--url: an http:// or https:// URL with a host")
            }
            if noCA, !caFile.isEmpty || !caFromPort.isEmpty { throw ValidationError("--no-ca goes alone, without --ca-file or --ca-from-port") }
            if url == nil, !noCA, caFile.isEmpty, caFromPort.isEmpty { throw ValidationError("nothing to change; see --help") }
        }

        /// Every source is checked before anything is written; then the bundle, then one settings edit.
        func run() throws {
            let root = InstallRoot.fromEnvironment()
            let file = PortsFile(root: root)
            try updateSettings(file, root: root)
            print("run bin/client_release to publish a release that carries this")
        }

        private func updateSettings(_ file: PortsFile, root: InstallRoot) throws {
            let settings = try file.read()
            let sources = try caFile.map(absolutePath) + caFromPort.map { try Self.certificate(ofPort: $0, in: settings, root: root) }
            var changes: [String: String] = [:]
            if let url { changes["client_server_url"] = url }
            if noCA { changes["client_ca_file"] = "" }
            guard !sources.isEmpty else { return try file.set(changes) }
            let bundle = try ServerCertificateFiles(root: root).stageClientBundle(from: sources)
            defer { unlink(root.resolve(bundle.path) + ".new") }
            changes["client_ca_file"] = bundle.path
            try file.set(changes)
            try bundle.commit()
            print("devices of the next release pin \(bundle.count) certificate(s) in \(bundle.path)")
        }

        static func certificate(ofPort port: Int, in settings: ServerSettings, root: InstallRoot) throws -> String {
            guard let configured = settings.listeningPorts.first(where: { $0.number == port }) else {
                throw AdminError.notFound("port \(port) is not configured", hint: "bin/configure_ports show lists them")
            }
            guard let tls = configured.tls else { throw AdminError.input("port \(port) serves plain HTTP: it has no certificate to pin") }
            return root.resolve(tls.certificate)
        }
    }
}
