import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RookeryCore

/// The request context: Hummingbird's core storage, the peer address every refusal logs, and,
/// once `SignedRequestMiddleware` let a request through, what it verified.
public struct RookeryRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// Set by `SignedRequestMiddleware`; nil on routes without it.
    public var verifiedRequest: VerifiedRequest?
    /// Set by `EndpointAuthMiddleware` when it admitted the request: `user NAME` or `address A`
    /// (see `EndpointAuthenticator.admittedIdentity`); nil on routes without it.
    public var admittedAs: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The peer as logs name it: address:port.
    var peer: String {
        remoteAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
    }

    /// The verified request read as its endpoint's message (see `VerifiedRequest.message`).
    func verified<M: RequestMessage>(_ type: M.Type) throws -> Verified<M> {
        try verified().message(type)
    }

    /// The verified request, for a service that reads its message itself (`SubmissionService`,
    /// which records the nonce of a request it refuses).
    func verified() throws -> VerifiedRequest {
        guard let verifiedRequest else {
            throw ProtocolError(.internalError, "a request was routed past the signature checks")
        }
        return verifiedRequest
    }

    /// The address a request is judged and throttled by: the peer's, or behind a trusted proxy
    /// the client's from X-Forwarded-For; "unknown" when there is none.
    func clientAddress(_ request: Request, authenticator: EndpointAuthenticator) -> String {
        authenticator.clientAddress(
            peer: remoteAddress?.ipAddress,
            forwardedFor: request.headers[HTTPField.Name("X-Forwarded-For")!]) ?? "unknown"
    }
}
