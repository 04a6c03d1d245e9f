import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RookeryCore

/// The protocol's checks on a signed request (see `RequestVerifier`), run before its endpoint:
/// the handler gets the verified request in `context.verifiedRequest` and reads its typed
/// message from there.
///
/// Until the signature verifies, anyone may be asking. So an address whose requests keep failing
/// before that point is answered `429` without reading its body (`UnverifiedRequestBudget`), and
/// an address that used up its guesses at tokens and passwords enrolls nothing, before gpg.
struct SignedRequestMiddleware: RouterMiddleware {
    typealias Context = RookeryRequestContext

    let verifier: RequestVerifier
    let maxBodyBytes: Int
    let authenticator: EndpointAuthenticator
    let failures: FailureLimiter
    let budget: UnverifiedRequestBudget

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let endpoint = WireProtocol.Endpoint(rawValue: String(request.uri.path.split(separator: "/").last ?? "")) else {
            throw ProtocolError(.notFound, "no such endpoint")
        }
        let address = context.clientAddress(request, authenticator: authenticator)
        let key = FailureLimiter.key(for: address)
        if let wait = budget.wait(key) {
            throw ProtocolError(.tooManyFailures, "too many requests from \(address) failed their checks; wait \(wait) s",
                                retryAfterSeconds: wait)
        }
        if endpoint == .enroll, failures.isBlocked(key) {
            throw ProtocolError(.tooManyFailures, "too many failed attempts from \(address); wait a few minutes")
        }
        var context = context
        do {
            let limit = endpoint == .enroll ? min(maxBodyBytes, WireProtocol.maxEnrollBodyBytes) : maxBodyBytes
            let body = try await Self.readBody(request, limit: limit)
            context.verifiedRequest = try await verifier.verify(
                endpoint: endpoint, body: body,
                signatureHeader: request.headers[HTTPField.Name(WireProtocol.signatureHeader)!])
        } catch let refusal as ProtocolError where UnverifiedRequestBudget.counts(refusal.error) {
            budget.charge(key)
            throw refusal
        }
        return try await next(request, context)
    }

    /// Reads the body, refusing anything over `limit` before it is read whole.
    static func readBody(_ request: Request, limit: Int) async throws -> Data {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw ProtocolError(.bodyTooLarge, "body of \(length) bytes is over the limit of \(limit)")
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Data(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw ProtocolError(.bodyTooLarge, "body is over the limit of \(limit) bytes")
        }
    }
}
