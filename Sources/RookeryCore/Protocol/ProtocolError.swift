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
    /// The body was signed for another endpoint than the one it was sent to.
    case wrongEndpoint = "wrong_endpoint"
    /// The body names no endpoint: a client too old for this endpoint (see docs/protocol.md).
    case upgradeRequired = "upgrade_required"
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
        case .malformed, .wrongEndpoint, .upgradeRequired: return 400
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
public struct ProtocolError: KindedError, Codable, Sendable {
    public let error: ProtocolErrorCode
    public let message: String
    /// For a `429`: how long to wait, sent as the `Retry-After` header rather than in the body.
    public var retryAfterSeconds: Int?

    public init(_ code: ProtocolErrorCode, _ message: String, retryAfterSeconds: Int? = nil) {
        self.error = code
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    enum CodingKeys: String, CodingKey { case error, message }

    public var description: String { "\(error.rawValue) (\(error.httpStatus)): \(message)" }

    /// To a device's command, a refusal is like a server it cannot reach: nothing was delivered,
    /// and the queue is kept.
    public var kind: ErrorKind { .unreachable }
}
