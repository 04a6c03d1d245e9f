import Foundation
import HTTPTypes
import Hummingbird
import RookeryCore

/// A refusal of the shell endpoints whose status `ProtocolErrorCode` has no code for (409
/// conflict, 410 gone, 429 busy, a token's 401 without a Basic challenge): the same
/// `{"error": CODE, "message": TEXT}` body, with the contract's status.
struct ShellRefusal: Error, HTTPResponseError, CustomStringConvertible {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    var retryAfterSeconds: Int?

    static func conflict(_ message: String) -> ShellRefusal { .init(status: .conflict, code: "conflict", message: message) }
    static func gone(_ reason: String?) -> ShellRefusal {
        .init(status: .gone, code: "gone", message: reason ?? "the shell session is closed")
    }
    static func busy(_ message: String) -> ShellRefusal {
        .init(status: .tooManyRequests, code: "busy", message: message, retryAfterSeconds: 1)
    }
    /// A device's frame call with a wrong or missing token, or for a session it has none of.
    static let badToken = ShellRefusal(
        status: .unauthorized, code: "unauthorized",
        message: "no shell session of this id takes this \(WireProtocol.shellTokenHeader)")

    var description: String { "\(code) (\(status.code)): \(message)" }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONAnswer.response(["error": code, "message": message], status: status)
        if let retryAfterSeconds { response.headers[.retryAfter] = String(retryAfterSeconds) }
        return response
    }

    /// An `AdminError` from the store as the contract's answer: not found 404, conflict 409,
    /// bad input 400; anything else is the server's failure.
    static func answer(for error: AdminError) -> any Error {
        switch error.kind {
        case .notFound: ProtocolError(.notFound, error.description)
        case .conflict: ShellRefusal.conflict(error.description)
        case .input: ProtocolError(.malformed, error.description)
        default: error
        }
    }
}
