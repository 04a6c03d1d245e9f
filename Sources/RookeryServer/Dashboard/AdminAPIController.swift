import Foundation
import Hummingbird
import NIOCore
import RookeryCore

/// The JSON read API under /rookery/v1/admin/: what each dashboard page shows, for scripts
/// (docs/api.md). Read-only; behind `endpoint_auth.dashboard`, like the pages.
struct AdminAPIController {
    let reader: FleetReader

    var routes: RouteCollection<RookeryRequestContext> {
        let routes = RouteCollection(context: RookeryRequestContext.self)
        routes.get("fleet") { _, _ in try Self.json(try await reader.overview()) }
        routes.get("devices") { request, _ in try Self.json(try await reader.devices(try DashboardQuery(request).deviceList())) }
        routes.get("devices/:fingerprint") { _, context in
            guard let device = try await reader.device(fingerprint: try DashboardPath.fingerprint(context)) else {
                throw ProtocolError(.notFound, "no device with that fingerprint")
            }
            return try Self.json(device)
        }
        routes.get("devices/:fingerprint/history") { request, context in
            let limit = try DashboardQuery(request).number("limit", in: 1...1000) ?? 100
            guard let history = try await reader.history(fingerprint: try DashboardPath.fingerprint(context), limit: limit) else {
                throw ProtocolError(.notFound, "no device with that fingerprint")
            }
            return try Self.json(history)
        }
        routes.get("issues") { request, _ in
            let query = DashboardQuery(request)
            return try Self.json(try await reader.issues(try query.openIssues(check: try query.checkName())))
        }
        routes.get("checks") { _, _ in try Self.json(try await reader.checks()) }
        routes.get("checks/:check") { request, context in
            guard let check = try await reader.check(try DashboardPath.check(context), query: try DashboardQuery(request).openIssues(check: nil)) else {
                throw ProtocolError(.notFound, "no such check")
            }
            return try Self.json(check)
        }
        routes.get("trend") { request, _ in
            let query = DashboardQuery(request)
            let check = try query.checkName() ?? ComplianceTally.everyCheck
            let days = try query.number("days", in: 1...366) ?? 30
            return try Self.json(TrendAnswer(check: check, days: try await reader.trend(check, days: days)))
        }
        routes.get("enrollments") { request, _ in try Self.json(try await reader.enrollments(page: try DashboardQuery(request).page())) }
        routes.get("releases") { _, _ in try Self.json(try await reader.releaseList()) }
        return routes
    }

    struct TrendAnswer: Encodable {
        let check: String
        let days: [ComplianceDay]
    }

    /// snake_case keys, sorted, dates already RFC 3339 text; absent values are left out.
    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}
