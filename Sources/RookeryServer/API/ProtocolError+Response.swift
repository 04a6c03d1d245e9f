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
        var response = try JSONAnswer.response(self, status: status)
        if error == .unauthorized { response.headers[.wwwAuthenticate] = "Basic realm=\"rookery\", charset=\"UTF-8\"" }
        if let retryAfterSeconds { response.headers[.retryAfter] = String(retryAfterSeconds) }
        return response
    }
}

/// Every JSON answer of the protocol: keys sorted, on one line, `application/json`.
enum JSONAnswer {
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}

/// A protocol answer that goes out as it encodes: `JSONAnswer`, status 200.
protocol JSONResponseGenerator: ResponseGenerator, Encodable {}

extension JSONResponseGenerator {
    public func response(from request: Request, context: some RequestContext) throws -> Response { try JSONAnswer.response(self) }
}

extension EnrollAnswer: JSONResponseGenerator {}
extension SubmitAnswer: JSONResponseGenerator {}
extension AcknowledgeAnswer: JSONResponseGenerator {}

/// A signed answer: the exact bytes, and the server's signature over them in the header.
extension SignedAnswer: ResponseGenerator {
    public func response(from request: Request, context: some RequestContext) -> Response {
        Response(
            status: .ok,
            headers: [
                .contentType: "application/json",
                HTTPField.Name(WireProtocol.signatureHeader)!: signature.base64EncodedString()
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
