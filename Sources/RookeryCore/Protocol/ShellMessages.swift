import FoundationEssentials

/// A shell the server asks a device to open: inside the server-signed `update` and `poll`
/// answers, so the device knows the server authorised it. `adminKey` is the admin side's
/// ephemeral X25519 public key; the device binds it into the session's keys (`ShellTranscript`).
public struct ShellOffer: Codable, Sendable, Equatable {
    /// 32 lowercase hex digits.
    public let sessionID: String
    /// 32 raw bytes (base64 on the wire).
    public let adminKey: Data
    /// Who opened it on the server (`endpoint_auth` user or address), for the device's log.
    public let openedBy: String
    public let term: String?
    public let rows: Int?
    public let columns: Int?
    /// nil: an interactive login shell; else run `shell -c command` and end with its status.
    public let command: String?

    public init(
        sessionID: String, adminKey: Data, openedBy: String, term: String? = nil, rows: Int? = nil,
        columns: Int? = nil, command: String? = nil
    ) {
        self.sessionID = sessionID
        self.adminKey = adminKey
        self.openedBy = openedBy
        self.term = term
        self.rows = rows
        self.columns = columns
        self.command = command
    }

    enum CodingKeys: String, CodingKey {
        case sessionID = "session_id"
        case adminKey = "admin_key"
        case openedBy = "opened_by"
        case term, rows, columns, command
    }

    /// Whether `id` has the shape of a session id: 32 lowercase hex digits.
    public static func isSessionID(_ id: String) -> Bool {
        id.utf8.count == 32 && id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

/// `shell_accept`: the device's half of the key exchange, signed by the device key, so the admin
/// knows which device answers. The answer is a `ShellAcceptAnswer`.
public struct ShellAcceptRequest: RequestMessage, Equatable {
    public static let endpoint = WireProtocol.Endpoint.shellAccept
    public let sessionID: String
    /// The device's ephemeral X25519 public key, 32 raw bytes (base64 on the wire).
    public let deviceKey: Data

    public init(sessionID: String, deviceKey: Data) {
        self.sessionID = sessionID
        self.deviceKey = deviceKey
    }

    public init(fields: MessageFields) throws {
        sessionID = try fields.string("session_id")
        guard ShellOffer.isSessionID(sessionID) else {
            throw ProtocolError(.malformed, "session_id is not 32 lowercase hex digits")
        }
        guard let key = Data(base64Encoded: try fields.string("device_key")), key.count == ShellKeyExchange.publicKeySize
        else { throw ProtocolError(.malformed, "device_key is not the base64 of a 32-byte X25519 public key") }
        deviceKey = key
    }

    public var fields: [String: JSONValue] {
        ["session_id": .string(sessionID), "device_key": .string(deviceKey.base64EncodedString())]
    }
}

/// The answer to `shell_accept`: the token the device's frame calls carry
/// (`WireProtocol.shellTokenHeader`). The server keeps only its SHA-256.
public struct ShellAcceptAnswer: Codable, Sendable, Equatable {
    public let sessionID: String
    /// 64 lowercase hex digits (32 random bytes).
    public let token: String

    public init(sessionID: String, token: String) {
        self.sessionID = sessionID
        self.token = token
    }

    enum CodingKeys: String, CodingKey {
        case sessionID = "session_id"
        case token
    }
}

/// `shell_refuse`: the device will not open the session (its owner turned shells off, or it
/// cannot start one); the admin sees `reason` at once.
public struct ShellRefuseRequest: RequestMessage, Equatable {
    public static let endpoint = WireProtocol.Endpoint.shellRefuse
    public static let maxReasonCount = 1024
    public let sessionID: String
    public let reason: String

    public init(sessionID: String, reason: String) {
        self.sessionID = sessionID
        self.reason = String(reason.utf8.prefix(Self.maxReasonCount)) ?? "refused"
    }

    public init(fields: MessageFields) throws {
        sessionID = try fields.string("session_id")
        guard ShellOffer.isSessionID(sessionID) else {
            throw ProtocolError(.malformed, "session_id is not 32 lowercase hex digits")
        }
        reason = try fields.string("reason")
        guard reason.utf8.count <= Self.maxReasonCount else {
            throw ProtocolError(.malformed, "reason is over \(Self.maxReasonCount) bytes")
        }
    }

    public var fields: [String: JSONValue] { ["session_id": .string(sessionID), "reason": .string(reason)] }
}

/// `poll`: the agent's long poll. The server answers at once when a shell waits for the device or
/// something newer than what the device already handled (a patch above `patch`, a release above
/// `release`), else after `agent_poll_seconds` with nothing. The answer (`PollAnswer`) is signed.
public struct PollRequest: RequestMessage, Equatable {
    public static let endpoint = WireProtocol.Endpoint.poll
    /// The newest release the device installed or refused (0: none).
    public let release: Int
    /// The highest patch id the device has been given (0: none).
    public let patch: Int64

    public init(release: Int, patch: Int64) {
        self.release = release
        self.patch = patch
    }

    public init(fields: MessageFields) throws {
        release = Int(try fields.integer("release", in: 0...Int64(Int32.max)))
        patch = try fields.integer("patch", in: 0...Int64.max)
    }

    public var fields: [String: JSONValue] { ["release": .integer(Int64(release)), "patch": .integer(patch)] }
}

/// The server's answer to `poll`: signed like `UpdateAnswer` (detached signature in
/// `Rookery-Signature`, the request's nonce and key echoed).
public struct PollAnswer: Codable, Sendable, Equatable {
    public let nonce: String
    public let key: String
    /// Shells to open now.
    public let shells: [ShellOffer]
    /// Whether the device should ask for its update now (a new patch or release waits).
    public let update: Bool

    public init(nonce: String, key: String, shells: [ShellOffer], update: Bool) {
        self.nonce = nonce
        self.key = key
        self.shells = shells
        self.update = update
    }

    /// The bytes the server signs and sends.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return try encoder.encode(self)
    }
}
