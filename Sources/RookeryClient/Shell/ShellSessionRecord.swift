import FoundationEssentials

/// One line of the shell session log: who authorised a session, as whom it ran, when, how much
/// passed and how it ended. Never what was typed or printed.
public struct ShellSessionRecord: Sendable, Codable, Equatable {
    public let sessionID: String
    /// The fingerprint of the server key whose signed request opened the session.
    public let serverKey: String
    public let account: String
    public let uid: UInt32
    public let started: String
    public let ended: String
    /// Bytes typed into the shell and bytes it printed.
    public let bytesIn: Int
    public let bytesOut: Int
    public let exitStatus: Int32?
    public let reason: ShellEndReason
    /// The transcript file, when one was kept; whether it stopped at its size limit.
    public let transcript: String?
    public let transcriptTruncated: Bool
    /// Who opened it on the server (`endpoint_auth` user or address), as the signed offer says.
    public var openedBy: String? = nil
    /// The command it ran, when it ran one instead of an interactive shell.
    public var command: String? = nil
    /// Why it was ended from outside, when it was: the admin closed it, a frame failed to open,
    /// the server was lost.
    public var detail: String? = nil

    enum CodingKeys: String, CodingKey {
        case sessionID = "session_id"
        case serverKey = "server_key"
        case account, uid, started, ended
        case bytesIn = "bytes_in"
        case bytesOut = "bytes_out"
        case exitStatus = "exit_status"
        case reason, transcript
        case transcriptTruncated = "transcript_truncated"
        case openedBy = "opened_by"
        case command, detail
    }
}
