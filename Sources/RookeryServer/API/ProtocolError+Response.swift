import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RookeryCore

/// A refusal thrown anywhere on the request path becomes its answer: the real HTTP status and
/// `{"error": CODE, "message": TEXT}`, with the headers the status calls for.
extension ProtocolError: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: error.httpStatus) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var headers: HTTPFields = [.contentType: "application/json"]
        if error == .unauthorized { headers[.wwwAuthenticate] = "Basic realm=\"rookery\", charset=\"UTF-8\"" }
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(self))))
    }
}

/// The JSON answers of the protocol, encoded with the context's sorted-keys encoder.
extension EnrollAnswer: ResponseEncodable {}
extension SubmitAnswer: ResponseEncodable {}
extension AcknowledgeAnswer: ResponseEncodable {}

/// A signed answer: the exact bytes, and the server's signature over them in the header.
extension SignedAnswer: ResponseGenerator {
    public func response(from request: Request, context: some RequestContext) -> Response {
        Response(status: .ok,
                 headers: [.contentType: "application/json",
                           HTTPField.Name(WireProtocol.signatureHeader)!: signature.base64EncodedString()],
                 body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
