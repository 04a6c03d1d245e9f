import Foundation
import HTTPTypes
import Hummingbird
import RookeryCore

/// `GET /rookery/v1/health` (the process answers) and `GET /rookery/v1/ready` (it should be sent
/// requests: see `ServerReadiness`), for load balancers and monitoring. Neither is authenticated
/// nor says more than a load balancer needs; `ready`'s database read is cached.
public struct HealthController: Sendable {
    let readiness: ServerReadiness

    public var routes: RouteCollection<RookeryRequestContext> {
        let routes = RouteCollection(context: RookeryRequestContext.self)
        routes.get("health") { _, _ in
            Self.answer(status: .ok, ["status": .string("alive")])
        }
        routes.get("ready") { _, _ in
            let verdict = await readiness.check()
            guard verdict.ready else {
                return Self.answer(
                    status: .serviceUnavailable,
                    ["error": .string("not_ready"), "message": .string(verdict.problem ?? "not ready")])
            }
            return Self.answer(status: .ok, ["status": .string("ready")])
        }
        return routes
    }

    static func answer(status: HTTPResponse.Status, _ members: [String: JSONValue]) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: JSONValue.object(members).serialized())))
    }
}
