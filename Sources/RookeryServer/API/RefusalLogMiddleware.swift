import Foundation
import Hummingbird
import RookeryCore

/// Logs every refusal on the protocol's routes with the peer it answered, and turns any other
/// error into a plain `internal_error`, so a device never reads the server's internals.
struct RefusalLogMiddleware: RouterMiddleware {
    typealias Context = RookeryRequestContext

    func handle(
        _ request: Request, context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let refusal as ProtocolError {
            // Authentication refusals are logged by EndpointAuthMiddleware, with the address it
            // judged; an address over its budget by SignedRequestMiddleware, throttled.
            if refusal.error != .unauthorized, refusal.retryAfterSeconds == nil {
                context.logger.warning(
                    "refused \(Self.endpoint(of: request)): \(refusal.error.rawValue): \(LogText.escaped(refusal.message))",
                    metadata: ["peer": "\(context.peer)"])
            }
            throw refusal
        } catch let refusal as ShellRefusal {
            if refusal.status != .unauthorized, refusal.code != "busy" {
                context.logger.warning(
                    "refused \(Self.endpoint(of: request)): \(refusal.code): \(LogText.escaped(refusal.message))",
                    metadata: ["peer": "\(context.peer)"])
            }
            throw refusal
        } catch {
            context.logger.error(
                "failed \(Self.endpoint(of: request)): \(LogText.escaped("\(error)"))",
                metadata: ["peer": "\(context.peer)"])
            throw ProtocolError(.internalError, "the server could not complete the request")
        }
    }

    /// The endpoint as the peer named it: escaped, since it is the peer's text.
    static func endpoint(of request: Request) -> String {
        LogText.escaped(String(request.uri.path.split(separator: "/").last ?? ""), limit: 64)
    }
}
