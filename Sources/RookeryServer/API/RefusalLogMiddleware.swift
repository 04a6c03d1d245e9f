import Foundation
import Hummingbird
import RookeryCore

/// Logs every refusal on the protocol's routes with the peer it answered, and turns any other
/// error into a plain `internal_error`, so a device never reads the server's internals.
struct RefusalLogMiddleware: RouterMiddleware {
    typealias Context = RookeryRequestContext

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        // The endpoint as the peer named it: quoted escaped, since it is the peer's text.
        let endpoint = LogText.escaped(String(request.uri.path.split(separator: "/").last ?? ""), limit: 64)
        do {
            return try await next(request, context)
        } catch let refusal as ProtocolError {
            // Authentication refusals are logged by EndpointAuthMiddleware, with the address it judged.
            if refusal.error != .unauthorized {
                context.logger.warning("refused \(endpoint): \(refusal.error.rawValue): \(LogText.escaped(refusal.message))",
                                       metadata: ["peer": "\(context.peer)"])
            }
            throw refusal
        } catch let answer as HTTPResponseError {
            throw answer
        } catch {
            context.logger.error("failed \(endpoint): \(LogText.escaped("\(error)"))", metadata: ["peer": "\(context.peer)"])
            throw ProtocolError(.internalError, "the server could not complete the request")
        }
    }
}
