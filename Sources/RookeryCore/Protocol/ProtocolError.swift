/// Every way the server refuses a request, with the HTTP status and the stable code that go on
/// the wire as `{"error": CODE, "message": TEXT}`. `docs/protocol.md` lists the same table.
public enum ProtocolErrorCode: String, Codable, Sendable, CaseIterable {
    case bodyTooLarge = "body_too_large"
    case malformed = "malformed"
    case missingSignature = "missing_signature"
    case unknownKey = "unknown_key"
    case badSignature = "bad_signature"
    case staleTime = "stale_time"
    case notAccepted = "not_accepted"
    case rejected = "rejected"
    case revoked = "revoked"
    case replay = "replay"
    case tooManyPending = "too_many_pending"
    /// An admin-facing endpoint (download_release) wants an allowed address or credentials.
    case unauthorized = "unauthorized"
    case tooManyFailures = "too_many_failures"
    case notFound = "not_found"
    /// Enrollment checks are all busy (a flood of enrollments); the device tries again later.
    case busy = "busy"
    case forbidden = "forbidden"
    case internalError = "internal_error"

    public var httpStatus: Int {
        switch self {
        case .bodyTooLarge: return 413
        case .malformed: return 400
        case .missingSignature, .unknownKey, .badSignature, .staleTime, .unauthorized: return 401
        case .notAccepted, .rejected, .revoked, .forbidden: return 403
        case .replay: return 409
        case .notFound: return 404
        case .tooManyPending, .tooManyFailures: return 429
        case .internalError: return 500
        case .busy: return 503
        }
    }
}

/// A refusal: thrown by the server's checks, decoded by the client from an error answer.
public struct ProtocolError: Error, Codable, Sendable, CustomStringConvertible {
    public let error: ProtocolErrorCode
    public let message: String

    public init(_ code: ProtocolErrorCode, _ message: String) {
        self.error = code
        self.message = message
    }

    public var description: String { "\(error.rawValue) (\(error.httpStatus)): \(message)" }
}
