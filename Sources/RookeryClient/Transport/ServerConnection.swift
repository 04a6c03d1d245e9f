import FoundationEssentials
import RookeryCore
import RookeryCurl

/// What the server said to one request.
public enum ServerAnswer<T: Sendable>: Sendable {
    case ok(T)
    case refused(status: Int, ProtocolError)
}

/// Sends signed requests to the server and decodes its answers.
public struct ServerConnection: Sendable {
    public let baseURL: String
    public let timeoutSeconds: Int
    /// The CA file the release pins for an https server; nil: the system's CA store.
    public let caFile: String?

    public init(baseURL: String, timeoutSeconds: Int, caFile: String? = nil) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.timeoutSeconds = timeoutSeconds
        self.caFile = caFile
    }

    public func send<T: Decodable & Sendable>(_ request: SignedRequest, expecting: T.Type) throws -> ServerAnswer<T> {
        switch try exchange(request) {
        case .ok(let reply):
            guard let value = try? JSONDecoder().decode(T.self, from: reply.body) else {
                throw TransportError(description: "unreadable answer from \(baseURL)")
            }
            return .ok(value)
        case .refused(let status, let refusal):
            return .refused(status: status, refusal)
        }
    }

    /// Sends a request and returns a 200 answer whole (body and headers), for answers that are
    /// not plain JSON: signed updates and release tarballs.
    public func exchange(_ request: SignedRequest, maxResponseBytes: Int = 16 * 1024 * 1024) throws -> ServerAnswer<HTTPReply> {
        let reply = try HTTPTransport.post(
            url: baseURL + WireProtocol.pathPrefix + request.endpoint.rawValue, body: request.body,
            headers: [WireProtocol.signatureHeader: request.signatureHeaderValue], timeoutSeconds: timeoutSeconds,
            maxResponseBytes: maxResponseBytes, caFile: caFile)
        if reply.status == 200 { return .ok(reply) }
        if let refusal = try? JSONDecoder().decode(ProtocolError.self, from: reply.body) {
            return .refused(status: reply.status, refusal)
        }
        // Not our server speaking (a proxy error page, a crash): treat as not delivered.
        throw TransportError(description: "unexpected answer \(reply.status) from \(baseURL)")
    }
}
