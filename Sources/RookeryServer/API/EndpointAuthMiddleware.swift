import Foundation
import HTTPTypes
import Hummingbird
import Logging
import RookeryCore

/// `endpoint_auth` for one admin-facing endpoint: lets the request through when its address or
/// its Basic credentials are allowed, and logs who came in and who was turned away, with the
/// address judged. Failed credentials count per address (`FailureLimiter`).
struct EndpointAuthMiddleware: RouterMiddleware {
    typealias Context = RookeryRequestContext

    let endpoint: String
    let authenticator: EndpointAuthenticator
    let failures: FailureLimiter
    /// Where admissions are logged: the shell's frame calls come several a second, and its
    /// service logs each open and close with who did it.
    var admissionLevel: Logger.Level = .notice

    func handle(
        _ request: Request, context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard authenticator.isConfigured(endpoint) else { return try await next(request, context) }
        let authorization = request.headers[.authorization]
        let address = context.clientAddress(request, authenticator: authenticator)
        let failureKey = FailureLimiter.key(for: address)
        // Credentials are counted as a failure before they are checked, so that parallel guesses
        // all count; the count is given back if they admit. Only credentials count: a first try
        // without any (as browsers and curl without -u make) is the normal start of a Basic exchange.
        let throttled = ProtocolError(.tooManyFailures, "too many failed attempts from \(address); wait a few minutes")
        var reservation: FailureLimiter.Reservation?
        if authorization != nil {
            guard let counted = try await failures.reserve(failureKey) else { throw throttled }
            reservation = counted
        } else if failures.isBlocked(failureKey) {
            throw throttled
        }
        let decision = try await authenticator.decideOffTheEventLoop(
            endpoint, peer: context.remoteAddress?.ipAddress,
            forwardedFor: request.headers[HTTPField.Name("X-Forwarded-For")!], authorization: authorization)
        switch decision {
        case .allowed(let how):
            if let reservation { failures.giveBack(reservation) }
            context.logger.log(level: admissionLevel, "\(endpoint) admitted: \(how)", metadata: ["address": "\(address)"])
            var context = context
            context.admittedAs = EndpointAuthenticator.admittedIdentity(by: how, address: address)
            return try await next(request, context)
        case .refused(let user, let reason):
            if let reservation { await failures.recordFailure(reservation) }
            context.logger.warning(
                "\(endpoint) refused: \(reason)",
                metadata: ["address": "\(address)", "user": "\(user ?? "-")"])
            throw ProtocolError(.unauthorized, "\(endpoint) needs an allowed address or a user name and password")
        }
    }
}
