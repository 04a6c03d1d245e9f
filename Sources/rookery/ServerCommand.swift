import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import RookeryCore
import RookeryServer
import ServiceLifecycle

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server", abstract: "Run the Rookery server in the foreground.")

    @Option(help: "Listen on this port alone, plain HTTP, instead of the settings' ports (0 picks a free port).") var port: Int?
    @Option(help: "Write the port actually listened on to this file once the server is up.") var portFile: String?
    @Option(help: "Write the dashboard's port (dashboard: in the settings) to this file once it listens.")
    var dashboardPortFile: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"
    @Option(
        help: ArgumentHelp(
            "Hand enrollment checks to the checker listening on this Unix socket.",
            discussion:
                "systemd's rookery-enroll-check.socket (server-setup.sh installs it) starts one `rookery enroll-check` per connection as a user of its own. Without this option, the server starts each check itself (as untrusted_user when it runs as root)."
        ))
    var enrollmentCheckSocket: String?
    @Option(help: "Check device signatures with native or gpgme, instead of the settings' verify_with.")
    var verifyWith: String?

    func run() async throws {
        let root = InstallRoot.fromEnvironment()
        // Whatever stops the server before it listens is in what it reads: exit 64, no usage line.
        let settings = try CommandFailure.opening { try loadSettings(root) }
        let limits = try CommandFailure.opening { try EdgeLimits(settings: settings) }
        // A worker that dies must not take the server with it through SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        let context = try await CommandFailure.openingAsynchronously { try await openContext(root: root, settings: settings) }
        let listeners = try CommandFailure.opening { try settings.listeningPorts.map { try Listener($0, root: root) } }

        var logger = Logger(label: "rookery")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        for migration in context.store.migrationsAppliedOnOpening { logger.notice("database: applied migration \(migration)") }
        warn(about: listeners, settings: settings, passwords: context.authenticator.takesPasswords, logger: logger)
        if let shortOfFiles = OpenFileLimit.raise(for: limits.maxConnections) { logger.warning("\(shortOfFiles)") }
        let connections = ConnectionPolicy(limits: limits, logger: logger)
        try await serve(listeners, context: context, connections: connections, logger: logger)
    }

    /// What an admin should hear at start: passwords over plain HTTP, certificates about to expire.
    private func warn(about listeners: [Listener], settings: ServerSettings, passwords: Bool, logger: Logger) {
        let plain =
            listeners.filter { $0.tls == nil }.map { String($0.port.number) }
            + (settings.dashboard.flatMap { $0.tls == nil ? ["\($0.port) (the dashboard)"] : nil } ?? [])
        if passwords, !plain.isEmpty, !["127.0.0.1", "::1", "localhost"].contains(settings.listenHost) {
            logger.warning(
                """
                endpoint_auth takes passwords, which HTTP Basic sends in clear on plain-HTTP port(s) \
                \(plain.joined(separator: ", ")): give them tls (bin/configure_ports), or put a TLS-terminating proxy in front
                """)
        }
        for listener in listeners {
            guard let expires = listener.certificateExpires, expires < Date().addingTimeInterval(14 * 86_400) else { continue }
            logger.warning("port \(listener.port.number): a certificate expires \(RFC3339.string(from: expires)); see docs/certificates.md")
        }
    }

    /// One port to listen on, with its TLS configuration already loaded and checked.
    struct Listener {
        let port: ServerPort
        let tls: TLSConfiguration?
        /// When the soonest-expiring certificate of the port's chain expires; nil for plain HTTP.
        let certificateExpires: Date?

        init(_ configured: PortSettings, root: InstallRoot) throws {
            port = ServerPort(number: configured.number, deprecated: configured.deprecated)
            tls = try configured.tls.map { try ServerTLS.configuration(port: configured.number, files: $0, root: root) }
            certificateExpires = configured.tls.flatMap {
                (try? CertificateInfo.read(pemFile: root.resolve($0.certificate))).flatMap(CertificateInfo.soonestToExpire)?.notValidAfter
            }
        }
    }

    private func loadSettings(_ root: InstallRoot) throws -> ServerSettings {
        var settings = try SettingsFile.load(ServerSettings.self, from: root.serverSettings)
        if let port {
            if settings.listeningPorts.contains(where: { $0.tls != nil }) {
                FileHandle.standardError.write(Data("warning: --port \(port) serves plain HTTP alone; the settings' TLS ports are not served\n".utf8))
            }
            settings.listenPort = port
            settings.ports = []
        }
        if let verifyWith {
            guard let checker = SignatureChecker(rawValue: verifyWith) else {
                throw ValidationError("--verify-with \(verifyWith): write native or gpgme")
            }
            settings.verifyWith = checker
        }
        return settings
    }

    private func openContext(root: InstallRoot, settings: ServerSettings) async throws -> ServerContext {
        // /proc/self/exe is this very binary even after an upgrade replaced the file on disk,
        // so helpers always speak the server's own version of the frames.
        let context = try await ServerContext(
            root: root, settings: settings, verifyWorkerExecutable: "/proc/self/exe",
            enrollmentCheckSocket: enrollmentCheckSocket)
        try context.authenticator.checkMandatoryEndpoints()
        // Checked now, so a server whose key devices would not accept stops here, saying why.
        _ = try context.signingKey()
        return context
    }

    /// One application per port, all in this process; failures, unverified requests, enrollments
    /// and open connections are counted across them.
    private func serve(
        _ listeners: [Listener], context: ServerContext, connections: ConnectionPolicy,
        logger: Logger
    ) async throws {
        // Guesses are counted in the database too: every process sharing it counts the same ones.
        let failures = FailureLimiter(shared: context.store)
        let budgets = AddressBudgets(settings: context.settings)
        let host = context.settings.listenHost
        let apps = try listeners.enumerated().map { index, listener in
            let (port, portFile) = (listener.port, index == 0 ? self.portFile : nil)
            let scheme = listener.tls == nil ? "http" : "https"
            return try buildApplication(
                context: context, logger: logger, port: port, tls: listener.tls,
                failures: failures, connections: connections, budgets: budgets
            ) { actual in
                logger.notice("listening on \(scheme)://\(host):\(actual)\(port.deprecated ? " (deprecated)" : "")")
                if let portFile { try? Data("\(actual)\n".utf8).write(to: URL(fileURLWithPath: portFile)) }
            }
        }
        let dashboard = try context.settings.dashboard.map { configured in
            let listener = try CommandFailure.opening { try Listener(PortSettings(number: configured.port, tls: configured.tls), root: context.root) }
            let scheme = listener.tls == nil ? "http" : "https"
            return try buildDashboardApplication(
                context: context, logger: logger, tls: listener.tls, failures: failures, connections: connections
            ) { [dashboardPortFile] actual in
                logger.notice("dashboard listening on \(scheme)://\(host):\(actual)")
                if let dashboardPortFile { try? Data("\(actual)\n".utf8).write(to: URL(fileURLWithPath: dashboardPortFile)) }
            }
        }
        let sweeper = ShellSweepService(
            sweeper: ShellSweeper(context: context, logger: logger), waiters: context.shell.waiters,
            readiness: context.readiness, logger: logger)
        // Services shut down last to first: the sweeper first (held polls answered, `ready` says
        // 503), then the ports (no new connections; requests in flight finish, within the grace).
        var configuration = ServiceGroupConfiguration(
            services: [
                .init(service: PortsService(apps: apps.map { $0 as any Service } + (dashboard.map { [$0 as any Service] } ?? []))), .init(service: sweeper)
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(context.settings.shutdownGraceSeconds)
        configuration.maximumCancellationDuration = .seconds(5)
        let group = ServiceGroup(configuration: configuration)
        // What the other server processes change wakes this one's waiters at once (PostgreSQL).
        let listening = Task { await context.shell.listenToOtherProcesses() }
        defer { listening.cancel() }
        // Managed state follows the fleet (a member's new address, a device joining a group).
        let refreshing = Task { await ManagedStateRefresher(store: context.store, logger: logger).run() }
        defer { refreshing.cancel() }
        do {
            try await group.run()
        } catch let error as IOError where [EADDRINUSE, EACCES, EADDRNOTAVAIL].contains(error.errnoCode) {
            // NIO says `bind(descriptor:ptr:bytes:)`, which tells an admin nothing of which port or why.
            let ports = listeners.map { String($0.port.number) }.joined(separator: ", ")
            throw CommandFailure(
                .settings, "cannot listen on \(host), port \(ports): \(String(cString: strerror(error.errnoCode)))",
                hint: error.errnoCode == EACCES
                    ? "a port below 1024 needs root or CAP_NET_BIND_SERVICE (AmbientCapabilities= in the systemd unit); or use another port (bin/configure_ports)"
                    : error.errnoCode == EADDRINUSE
                        ? "another process listens there (a server already running? see `ss -ltnp`): stop it, or move this server to another port (bin/configure_ports)"
                        : "listen_host must be an address of this machine (or 0.0.0.0, ::)")
        }
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

struct EnrollmentCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll-check", abstract: "Internal: checks one enrollment for the server over stdin/stdout.",
        shouldDisplay: false)

    @Option(help: "The user to check as when started as root (systemd's socket unit starts it as one already).") var user: String?
    @Option(help: "Seconds before the check and everything it started are killed.") var timeout = EnrollmentCheckProcess.timeout
    @Option(help: "An empty directory, owned by the user checking, for the GnuPG home (default: a new one in TMPDIR).") var home: String?

    func run() throws {
        try EnrollmentCheckWorker.serve(user: user, timeout: timeout, home: home)
    }
}

/// Every port's application as one service, so that a shutdown reaches them all at once: the
/// group stops its services one after another, which would leave one port accepting while the
/// others drain.
struct PortsService: Service {
    let apps: [any Service]

    func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            for app in apps { group.addTask { try await app.run() } }
        }
    }
}

/// The shell sweep beside the ports. Last in the group, so it is the first to hear of a shutdown:
/// it then makes `ready` answer 503 and answers every long poll at once, or the ports would wait
/// up to a minute for the agents'.
struct ShellSweepService: Service {
    let sweeper: ShellSweeper
    let waiters: ShellWaiters
    let readiness: ServerReadiness
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await sweeper.run() }
        logger.notice("shutting down: no new connections; requests in flight may finish")
        readiness.beginDraining()
        waiters.stopAll()
    }
}
