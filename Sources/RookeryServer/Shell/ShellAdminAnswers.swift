import Foundation
import RookeryCore

// The JSON bodies of the admin's shell endpoints (docs/protocol.md, "Remote shell"). The admin
// side (`rookery client-shell`) reads the same names.

/// `shell/open`'s body.
public struct ShellOpenBody: Codable, Sendable, Equatable {
    /// A host name, or a device's 40-hex fingerprint.
    public var host: String
    /// The admin's ephemeral X25519 public key (base64 of 32 bytes).
    public var adminKey: Data
    public var term: String?
    public var rows: Int?
    public var columns: Int?
    public var command: String?

    public init(host: String, adminKey: Data, term: String? = nil, rows: Int? = nil, columns: Int? = nil, command: String? = nil) {
        self.host = host
        self.adminKey = adminKey
        self.term = term
        self.rows = rows
        self.columns = columns
        self.command = command
    }

    enum CodingKeys: String, CodingKey {
        case host, term, rows, columns, command
        case adminKey = "admin_key"
    }
}

/// `shell/open`'s answer.
public struct ShellOpenAnswer: Codable, Sendable, Equatable {
    public var sessionID: String
    public var fingerprint: String
    public var host: String
    public var state: String

    enum CodingKeys: String, CodingKey {
        case sessionID = "session_id"
        case fingerprint, host, state
    }
}

/// `shell/ID/state`'s answer.
public struct ShellStateAnswer: Codable, Sendable, Equatable {
    public var sessionID: String
    public var fingerprint: String
    public var host: String
    public var state: String
    public var openedBy: String
    /// The device's ephemeral X25519 public key, once it accepted.
    public var deviceKey: Data?
    public var closeReason: String?
    /// Once it accepted: the device's signed `shell_accept` (body and detached signature) and its
    /// OpenPGP public key, for the admin's side to check (`ShellAcceptCheck`).
    public var acceptBody: Data?
    public var acceptSignature: Data?
    public var devicePublicKey: String?

    enum CodingKeys: String, CodingKey {
        case sessionID = "session_id"
        case fingerprint, host, state
        case openedBy = "opened_by"
        case deviceKey = "device_key"
        case closeReason = "close_reason"
        case acceptBody = "accept_body"
        case acceptSignature = "accept_signature"
        case devicePublicKey = "device_public_key"
    }
}

/// One session of `shell/list`.
public struct ShellListEntry: Codable, Sendable, Equatable {
    public var sessionID: String
    public var fingerprint: String
    public var host: String
    public var state: String
    public var openedBy: String
    /// RFC 3339.
    public var openedAt: String
    public var lastActivity: String
    public var bytesToDevice: Int64
    public var bytesToAdmin: Int64
    public var command: String?

    enum CodingKeys: String, CodingKey {
        case sessionID = "session_id"
        case fingerprint, host, state, command
        case openedBy = "opened_by"
        case openedAt = "opened_at"
        case lastActivity = "last_activity"
        case bytesToDevice = "bytes_to_device"
        case bytesToAdmin = "bytes_to_admin"
    }
}

/// `shell/list`'s answer: the sessions requested or open.
public struct ShellListAnswer: Codable, Sendable, Equatable {
    public var sessions: [ShellListEntry]

    public init(sessions: [ShellListEntry]) { self.sessions = sessions }
}

/// `shell/ID/close`'s (and `shell/ID/device/close`'s) body; the device must give a reason.
public struct ShellCloseBody: Codable, Sendable, Equatable {
    public var reason: String?

    public init(reason: String? = nil) { self.reason = reason }
}

/// `shell/ID/close`'s answer: whether this call closed it (false: it was closed already).
public struct ShellCloseAnswer: Codable, Sendable, Equatable {
    public var closed: Bool
}

/// `shell/ID/send`'s answer: the sequence number of the last frame stored.
public struct ShellSendAnswer: Codable, Sendable, Equatable {
    public var seq: Int64
}

/// `shell_refuse`'s answer.
public struct ShellRefuseAnswer: Codable, Sendable, Equatable {
    public var sessionID: String
    public var state: String

    enum CodingKeys: String, CodingKey {
        case sessionID = "session_id"
        case state
    }
}

extension ShellOpenAnswer: JSONResponseGenerator {}
extension ShellStateAnswer: JSONResponseGenerator {}
extension ShellListAnswer: JSONResponseGenerator {}
extension ShellCloseAnswer: JSONResponseGenerator {}
extension ShellSendAnswer: JSONResponseGenerator {}
extension ShellRefuseAnswer: JSONResponseGenerator {}
extension ShellAcceptAnswer: JSONResponseGenerator {}

extension ShellSessionRecord {
    /// What the device's update and poll answers carry for a requested session.
    var offer: ShellOffer {
        ShellOffer(
            sessionID: id, adminKey: adminKey, openedBy: openedBy, term: term, rows: rows, columns: columns,
            command: command)
    }
}
