import ArgumentParser
import Foundation
import Hummingbird
import Logging
import RookeryCore
import RookeryServer
import ServiceLifecycle

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server", abstract: "Run the Rookery server in the foreground.")

    @Option(help: "Listen on this port instead of the settings' (0 picks a free port).") var port: Int?
    @Option(help: "Write the port actually listened on to this file once the server is up.") var portFile: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"

    func run() async throws {
        let root = InstallRoot.fromEnvironment()
        var settings: ServerSettings
        do { settings = try SettingsFile.load(ServerSettings.self, from: root.serverSettings) }
        catch { throw ValidationError("\(error)") }
        if let port {
            settings.listenPort = port
            settings.ports = []
        }
        if let tls = settings.listeningPorts.first(where: { $0.tls != nil }) {
            throw ValidationError("port \(tls.number): tls is not supported yet; put a TLS-terminating proxy in front")
        }
        // A worker that dies must not take the server with it through SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        // /proc/self/exe is this very binary even after an upgrade replaced the file on disk,
        // so helpers always speak the server's own version of the frames.
        let context: ServerContext
        do {
            context = try ServerContext(root: root, settings: settings, verifyWorkerExecutable: "/proc/self/exe")
            try context.authenticator.checkMandatoryEndpoints()
        } catch let error as SettingsError {
            throw ValidationError(error.description)
        }
        // Checked now, so a server whose key devices would not accept stops here, saying why.
        _ = try context.signingKey()

        var logger = Logger(label: "rookery")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        if context.authenticator.takesPasswords && !["127.0.0.1", "::1", "localhost"].contains(settings.listenHost) {
            logger.warning("""
                endpoint_auth takes passwords, which HTTP Basic sends in clear on this plain-HTTP port: \
                put a TLS-terminating proxy in front (and in trusted_proxies) until TLS ports arrive
                """)
        }
        // One listener per port, all in this process; failures are counted across them.
        let failures = FailureLimiter()
        let apps = settings.listeningPorts.enumerated().map { index, configured in
            let (announce, host, portFile) = (logger, settings.listenHost, index == 0 ? self.portFile : nil)
            let port = ServerPort(number: configured.number, deprecated: configured.deprecated)
            return buildApplication(context: context, logger: logger, port: port, failures: failures) { actual in
                announce.notice("listening on \(host):\(actual)\(port.deprecated ? " (deprecated)" : "")")
                if let portFile { try? Data("\(actual)\n".utf8).write(to: URL(fileURLWithPath: portFile)) }
            }
        }
        let group = ServiceGroup(configuration: .init(
            services: apps.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

struct VerifyWorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-worker", abstract: "Internal: checks signatures for the server over stdin/stdout.",
        shouldDisplay: false)

    @Option(help: "The server keyring.") var home: String

    func run() throws {
        try VerifierWorker.serve(homeDirectory: home)
    }
}
