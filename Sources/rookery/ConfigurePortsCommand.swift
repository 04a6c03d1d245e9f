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
    @Option(
        name: .customLong("tls-self-signed"),
        help: ArgumentHelp(
            "Serve TLS with a new self-signed certificate for this host name or address (repeat for more names).",
            valueName: "HOSTNAME"))
    var selfSignedNames: [String] = []
    @Option(help: "Serve TLS with this PEM certificate (chain) file.") var certificate: String?
    @Option(help: "The PEM private key of --certificate.") var key: String?
    @Flag(name: .customLong("no-tls"), help: "Serve plain HTTP on this port.") var noTLS = false
    @Flag(inversion: .prefixedNo, help: "Mark the port deprecated, or not: still served, but bin/issues names devices using it.")
    var deprecated: Bool?
    @Option(help: "Days the certificate --tls-self-signed makes is valid (1 to 3650; default: 825).") var validDays: Int?
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

    /// The edit these options make to `port`; paths are made absolute here, where the admin stands.
    func edit(port: Int, adding: Bool) -> PortEdit {
        let serving: PortEdit.Serving? =
            if !selfSignedNames.isEmpty {
                .selfSigned(names: selfSignedNames, validDays: validDays ?? SelfSignedCertificate.defaultValidDays)
            } else if let certificate, let key {
                .certificate(.init(certificate: absolutePath(certificate), key: absolutePath(key)))
            } else if noTLS {
                .plainHTTP
            } else {
                nil
            }
        return PortEdit(port: port, adding: adding, serving: serving, deprecated: deprecated, force: force)
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
        @OptionGroup var output: OutputOptions

        func run() throws {
            let root = InstallRoot.fromEnvironment()
            let settings = try PortsFile(root: root).read()
            print(output.json ? PortsFormatter.json(settings, root: root) : PortsFormatter.text(settings, root: root))
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Listen on one more port.")
        @Argument(help: "The port number.") var port: Int
        @OptionGroup var options: PortOptions

        func validate() throws { try checkPortNumber(port) }

        func run() throws {
            try options.edit(port: port, adding: true).run(root: InstallRoot.fromEnvironment())
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
            try options.edit(port: port, adding: false).run(root: InstallRoot.fromEnvironment())
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
            let context = try await openAdminContext()
            let removal = PortRemoval(root: context.root, store: context.store)
            if !force { try await removal.refuseWhileDevicesReport(on: port) }
            try removal.remove(port)
            print(
                "removed port \(port); restart the server. Devices still using it will fail to reach the server; "
                    + "`bin/issues list --issue-name deprecated-port` names those still on deprecated ports")
        }
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

        func run() throws {
            let edit = ClientConnectionEdit(url: url, caFiles: caFile.map(absolutePath), caFromPorts: caFromPort, noCA: noCA)
            if let bundle = try edit.run(root: InstallRoot.fromEnvironment()) {
                print("devices of the next release pin \(bundle.count) certificate(s) in \(bundle.path)")
            }
            print("run bin/client_release to publish a release that carries this")
        }
    }
}
