import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import RookeryCore

/// Builds the dashboard's application, on the port `dashboard:` names: the pages, the JSON read
/// API under /rookery/v1/admin/ and /metrics, every route behind `endpoint_auth` (`dashboard`;
/// /metrics `metrics` when that is set). Nothing here writes to the store.
public func buildDashboardApplication(
    context: ServerContext, logger: Logger, tls: TLSConfiguration? = nil, failures: FailureLimiter,
    connections: ConnectionPolicy, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let settings = context.settings
    let router = try dashboardRouter(context: context, failures: failures)
    let http: HTTPServerBuilder = .http1(configuration: .init(additionalChannelHandlers: connections.channelHandlers()))
    return Application(
        router: router,
        server: try tls.map { try .tls(http, tlsConfiguration: $0) } ?? http,
        configuration: .init(
            address: .hostname(settings.listenHost, port: settings.dashboard?.port ?? 0), serverName: "rookery"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: logger)
}

/// The dashboard's router alone, for tests that drive it without a socket.
func dashboardRouter(context: ServerContext, failures: FailureLimiter) throws -> Router<RookeryRequestContext> {
    let authenticator = context.authenticator
    // EndpointAuthenticator refuses such settings already; the dashboard never relies on it alone.
    guard authenticator.isConfigured("dashboard") else {
        throw SettingsError("endpoint_auth.dashboard allows nobody: the dashboard is not served", setting: ["endpoint_auth", "dashboard"])
    }
    let reader = FleetReader(
        store: context.store, releases: context.releases,
        issuesFile: context.root.resolve(context.settings.audit.issuesFile))
    let router = Router(context: RookeryRequestContext.self)
    router.add(middleware: DashboardHeadersMiddleware())
    let metricsAuth = authenticator.isConfigured("metrics") ? "metrics" : "dashboard"
    router.group("metrics")
        .add(middleware: EndpointAuthMiddleware(endpoint: metricsAuth, authenticator: authenticator, failures: failures, admissionLevel: .debug))
        .get { _, _ in
            let text = context.metrics.exposition(
                fleet: try await context.store.fleetCounts(now: Date()), checks: try await reader.checks(),
                lastAudit: try await context.store.lastAuditRun())
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    let pages = router.group().add(middleware: EndpointAuthMiddleware(endpoint: "dashboard", authenticator: authenticator, failures: failures))
    pages.addRoutes(AdminAPIController(reader: reader).routes, atPath: "rookery/v1/admin")
    pages.addRoutes(try DashboardController(reader: reader).routes)
    return router
}
