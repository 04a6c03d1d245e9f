import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RookeryCore

/// The protocol's checks on a signed request to one endpoint (see `RequestVerifier`), run before
/// the endpoint: the handler gets the verified request in `context.verifiedRequest` and reads
/// its typed message from there.
///
/// Until the signature verifies, anyone may be asking. So an address whose requests keep failing
/// before that point is answered `429` without reading its body (`UnverifiedRequestBudget`), and
/// an address that used up its guesses at tokens and passwords enrolls nothing, before gpg.
struct SignedRequestMiddleware: RouterMiddleware {
    typealias Context = RookeryRequestContext

    /// What every endpoint's checks share.
    struct Checks: Sendable {
        let verifier: RequestVerifier
        let maxBodyBytes: Int
        let authenticator: EndpointAuthenticator
        let failures: FailureLimiter
        let budgets: AddressBudgets
        /// Addresses running out of budget, at most one line every 10 s.
        let log: ThrottledLog
    }

    let endpoint: WireProtocol.Endpoint
    let checks: Checks

    func handle(
        _ request: Request, context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let address = context.clientAddress(request, authenticator: checks.authenticator)
        let key = FailureLimiter.key(for: address)
        if endpoint == .enroll, checks.failures.isBlocked(key) {
            throw ProtocolError(.tooManyFailures, "too many failed attempts from \(address); wait a few minutes")
        }
        // Only failures are charged, as each happens: requests in flight cost nothing, so any
        // number may verify at once, and a burst of them that fails is paid back by waiting.
        if let wait = checks.budgets.unverifiedFailures.wait(key) {
            checks.log.log(.overBudget, .warning, "\(address) used up its budget of requests failing before they verify; answered 429")
            throw ProtocolError(
                .tooManyFailures, "too many requests from \(address) failed their checks; wait \(wait) s",
                retryAfterSeconds: wait)
        }
        if endpoint == .enroll {
            // Every enrollment let in is charged at once, whatever its outcome: each is a gpg run.
            if let wait = checks.budgets.enrollments.admit(key) {
                checks.log.log(.overEnrollmentBudget, .warning, "\(address) used up its budget of enrollments; answered 429")
                throw ProtocolError(
                    .tooManyFailures, "too many enrollments from \(address); wait \(wait) s",
                    retryAfterSeconds: wait)
            }
        }
        var context = context
        do {
            let limit = endpoint == .enroll ? min(checks.maxBodyBytes, WireProtocol.maxEnrollBodyBytes) : checks.maxBodyBytes
            let body = try await Self.readBody(request, limit: limit)
            context.verifiedRequest = try await checks.verifier.verify(
                endpoint: endpoint, body: body,
                signatureHeader: request.headers[HTTPField.Name(WireProtocol.signatureHeader)!])
        } catch let refusal as ProtocolError where UnverifiedRequestBudget.counts(refusal.error) {
            checks.budgets.unverifiedFailures.charge(key)
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
