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
            Exit codes: 0 done, 1 failure, 64 usage error.
            """,
        subcommands: [Show.self, Add.self, Remove.self, Set.self, Client.self],
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
    @Option(help: "Days a self-signed certificate is valid.") var validDays = 825

    func validate() throws {
        let choices = [!selfSignedNames.isEmpty, certificate != nil || key != nil, noTLS].filter { $0 }.count
        guard choices <= 1 else { throw ValidationError("give one of --tls-self-signed, --certificate/--key, --no-tls") }
        guard (certificate == nil) == (key == nil) else { throw ValidationError("--certificate and --key go together") }
    }

    /// The port with these options applied; new certificate files are written and checked first.
    func apply(to port: inout PortSettings, root: InstallRoot) throws {
        if let deprecated { port.deprecated = deprecated }
        if noTLS { port.tls = nil }
        if let certificate, let key {
            port.tls = .init(certificate: Self.absolute(certificate), key: Self.absolute(key))
        }
        if !selfSignedNames.isEmpty {
            port.tls = try ServerCertificateFiles(root: root).write(port: port.number, names: selfSignedNames, validDays: validDays)
        }
        if let tls = port.tls { _ = try ServerTLS.configuration(port: port.number, files: tls, root: root) }
    }

    private static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}

extension ConfigurePortsCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the ports, their TLS certificates, and what clients pin.")
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            let root = InstallRoot.fromEnvironment()
            let settings = try runSettings { try PortsFile(root: root).read() }
            print(json ? PortsFormatter.json(settings, root: root) : PortsFormatter.text(settings, root: root))
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Listen on one more port.")
        @Argument(help: "The port number.") var port: Int
        @OptionGroup var options: PortOptions

        func run() throws {
            let root = InstallRoot.fromEnvironment()
            try runSettings {
                try PortsFile(root: root).change { ports in
                    guard !ports.contains(where: { $0.number == port }) else {
                        throw SettingsError("port \(port) is already configured; change it with set")
                    }
                    var added = PortSettings(number: port)
                    try options.apply(to: &added, root: root)
                    ports.append(added)
                }
            }
            print("added port \(port); restart the server to listen on it")
        }

        func validate() throws { try checkPortNumber(port) }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop listening on a port (its certificate files stay).")
        @Argument(help: "The port number.") var port: Int

        func run() throws {
            let root = InstallRoot.fromEnvironment()
            try runSettings {
                try PortsFile(root: root).change { ports in
                    guard ports.contains(where: { $0.number == port }) else { throw SettingsError("port \(port) is not configured") }
                    ports.removeAll { $0.number == port }
                }
            }
            print("removed port \(port); restart the server. Devices still using it will fail to reach the server; "
                  + "`bin/issues audit --full` lists those on deprecated ports")
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a port's TLS or deprecation.")
        @Argument(help: "The port number.") var port: Int
        @OptionGroup var options: PortOptions

        func run() throws {
            let root = InstallRoot.fromEnvironment()
            let before = try runSettings { try PortsFile(root: root).read() }
            try runSettings {
                try PortsFile(root: root).change { ports in
                    guard let index = ports.firstIndex(where: { $0.number == port }) else {
                        throw SettingsError("port \(port) is not configured; add it with add")
                    }
                    try options.apply(to: &ports[index], root: root)
                }
            }
            if !before.clientCAFile.isEmpty, !options.selfSignedNames.isEmpty || options.certificate != nil {
                printError("""
                    warning: devices pin \(before.clientCAFile); until they run a release that pins the new certificate \
                    (bin/configure_ports client, then bin/client_release), they refuse this port. See docs/certificates.md.
                    """)
            }
            print("changed port \(port); restart the server to use it")
        }
    }
}

func checkPortNumber(_ port: Int) throws {
    guard (1...65535).contains(port) else { throw ValidationError("a port is a number from 1 to 65535") }
}

/// Runs a settings change, turning a SettingsError into a message and exit code 1.
@discardableResult
func runSettings<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as SettingsError {
        printError(error.description)
        throw ExitCode.failure
    } catch let error as CertificateError {
        printError(error.description)
        throw ExitCode.failure
    }
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

        func run() throws {
            let root = InstallRoot.fromEnvironment()
            let file = PortsFile(root: root)
            try runSettings {
                let settings = try file.read()
                if let url { try file.set("client_server_url", to: url) }
                if noCA { try file.set("client_ca_file", to: "") }
                if !caFile.isEmpty || !caFromPort.isEmpty {
                    let sources = try caFile.map { $0.hasPrefix("/") ? $0 : FileManager.default.currentDirectoryPath + "/" + $0 }
                        + caFromPort.map { try Self.certificate(ofPort: $0, in: settings, root: root) }
                    let pinned = try ServerCertificateFiles(root: root).writeClientBundle(from: sources)
                    try file.set("client_ca_file", to: pinned.path)
                    print("devices of the next release pin \(pinned.count) certificate(s) in \(pinned.path)")
                }
            }
            print("run bin/client_release to publish a release that carries this")
        }

        static func certificate(ofPort port: Int, in settings: ServerSettings, root: InstallRoot) throws -> String {
            guard let configured = settings.listeningPorts.first(where: { $0.number == port }) else {
                throw SettingsError("port \(port) is not configured")
            }
            guard let tls = configured.tls else { throw SettingsError("port \(port) serves plain HTTP: it has no certificate to pin") }
            return root.resolve(tls.certificate)
        }
    }
}
