import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import RookeryCore

/// Builds the server application for one port: a router with the protocol controller, settings
/// from `context`. `rookery server` builds one per configured port, sharing `failures`,
/// `connections` and `budgets` (nil: a policy or budgets of this port's own, from the settings);
/// a port with `tls` (see
/// `ServerTLS`) speaks HTTPS and nothing else.
public func buildApplication(
    context: ServerContext, logger: Logger, port: ServerPort? = nil,
    tls: TLSConfiguration? = nil, failures: FailureLimiter = FailureLimiter(),
    connections: ConnectionPolicy? = nil, budgets: AddressBudgets? = nil,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
)
    throws -> some ApplicationProtocol
{
    let port = port ?? ServerPort(number: context.settings.listenPort)
    let settings = context.settings
    let connections = try connections ?? ConnectionPolicy(limits: EdgeLimits(settings: settings), logger: logger)
    let router = Router(context: RookeryRequestContext.self)
    router.add(middleware: RequestMetricsMiddleware(metrics: context.metrics))
    let verifier = RequestVerifier(
        store: context.store, keyring: context.keyring,
        allowedSkew: TimeInterval(settings.allowedClockSkew), pool: context.pool,
        enrollmentChecks: context.enrollmentChecks, writer: context.writer, metrics: context.metrics)
    let checks = SignedRequestMiddleware.Checks(
        verifier: verifier, maxBodyBytes: settings.maxBodyBytes, authenticator: context.authenticator,
        failures: failures, budgets: budgets ?? AddressBudgets(settings: settings),
        log: ThrottledLog(logger: logger))
    let controller = ProtocolController(
        checks: checks,
        enrollment: EnrollmentService(
            store: context.store, enrollmentTokens: settings.enrollmentTokens,
            maxPendingDevices: settings.maxPendingDevices, failures: failures, logger: logger),
        submissions: SubmissionService(
            store: context.store, writer: context.writer, port: port, documentLimits: settings.documentLimits,
            history: HistoryPolicy(
                maxRowsPerSubmission: settings.maxHistoryRowsPerSubmission,
                rowsPerDevice: settings.historyRowsPerDevice)),
        updates: UpdateService(
            store: context.store, releases: context.releases,
            signingKey: context.signingKey, pool: context.pool, offersShells: settings.remoteShells),
        files: FileIO(threadPool: .singleton),
        releaseDownload: settings.releaseDownload,
        authenticator: context.authenticator,
        failures: failures)
    router.addRoutes(controller.routes, atPath: "rookery/v1")
    router.addRoutes(shellController(context: context, checks: checks, failures: failures, logger: logger).routes, atPath: "rookery/v1")
    router.addRoutes(HealthController(readiness: context.readiness).routes, atPath: "rookery/v1")

    // Connections are capped, and slow or silent peers cut off (see ConnectionPolicy); no idle
    // timeout is needed, since the request deadline also runs while a connection is idle.
    let http: HTTPServerBuilder = .http1(configuration: .init(additionalChannelHandlers: connections.channelHandlers()))
    return Application(
        router: router,
        server: try tls.map { try .tls(http, tlsConfiguration: $0) } ?? http,
        configuration: .init(
            address: .hostname(settings.listenHost, port: port.number),
            serverName: "rookery"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: logger)
}

/// The remote shell's routes, over the process's shared wake-ups (`ServerContext.shell`).
func shellController(
    context: ServerContext, checks: SignedRequestMiddleware.Checks, failures: FailureLimiter, logger: Logger
) -> ShellController {
    let settings = context.settings
    return ShellController(
        checks: checks,
        sessions: ShellSessionService(store: context.store, waiters: context.shell.waiters, logger: logger),
        relay: ShellRelay(store: context.store, waiters: context.shell.waiters),
        polls: AgentPollService(
            store: context.store, releases: context.releases, signingKey: context.signingKey, pool: context.pool,
            process: context.shell, pollSeconds: settings.agentPollSeconds, offersShells: settings.remoteShells),
        authenticator: context.authenticator, failures: failures, enabled: settings.remoteShells)
}
