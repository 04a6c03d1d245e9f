import Foundation
import RookeryCore

/// What the server said to one request.
public enum ServerAnswer<T: Decodable & Sendable>: Sendable {
    case ok(T)
    case refused(status: Int, ProtocolError)
}

/// Sends signed requests to the server and decodes its answers.
public struct ServerConnection: Sendable {
    public let baseURL: String
    public let timeoutSeconds: Int

    public init(baseURL: String, timeoutSeconds: Int) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.timeoutSeconds = timeoutSeconds
    }

    public func send<T: Decodable & Sendable>(_ request: SignedRequest, expecting: T.Type) throws -> ServerAnswer<T> {
        let reply = try HTTPTransport.post(
            url: baseURL + WireProtocol.pathPrefix + request.endpoint.rawValue, body: request.body,
            headers: [WireProtocol.signatureHeader: request.signatureHeaderValue], timeoutSeconds: timeoutSeconds)
        if reply.status == 200, let value = try? JSONDecoder().decode(T.self, from: reply.body) {
            return .ok(value)
        }
        if let refusal = try? JSONDecoder().decode(ProtocolError.self, from: reply.body) {
            return .refused(status: reply.status, refusal)
        }
        // Not our server speaking (a proxy error page, a crash): treat as not delivered.
        throw TransportError(description: "unexpected answer \(reply.status) from \(baseURL)")
    }
}
