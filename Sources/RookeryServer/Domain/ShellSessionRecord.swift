import Foundation
import RookeryCore

/// A remote-shell session as the server records it: who opened it to which device, when, its
/// state and how many bytes passed. Never its content: the server relays frames it cannot open.
public struct ShellSessionRecord: Sendable, Equatable {
    public enum State: String, Sendable, CaseIterable {
        /// The admin asked; the device has not answered yet.
        case requested
        /// The device accepted: frames flow.
        case open
        /// The device's owner does not allow shells (or the device said why not).
        case refused
        case closed
    }

    /// 32 lowercase hex digits (128 random bits).
    public var id: String
    public var fingerprint: String
    /// Who opened it, as `pipe_create` admitted them: `user NAME` or `address A`.
    public var openedBy: String
    public var openedAt: Date
    public var state: State
    /// The admin's ephemeral X25519 public key (32 bytes).
    public var adminKey: Data
    /// The device's, once it accepted.
    public var deviceKey: Data?
    public var term: String?
    public var rows: Int?
    public var columns: Int?
    /// nil: an interactive login shell.
    public var command: String?
    public var lastActivity: Date
    public var bytesToDevice: Int64
    public var bytesToAdmin: Int64
    public var closedAt: Date?
    public var closeReason: String?
    /// The device's `shell_accept` body and detached signature, as it sent them.
    public var acceptProof: ShellAcceptProof? = nil

    /// Whether the session still holds a slot of its device's cap.
    public var isLive: Bool { state == .requested || state == .open }
}
