import Foundation
import RookeryCore

/// The secret-keeping key as the server knows it: its public half and how its private half was
/// split. The private half is never stored; only the keepers' shares can rebuild it.
public struct SecretKeepingRecord: Sendable, Equatable {
    public var fingerprint: String
    /// ASCII-armored public key, handed to devices in update answers.
    public var publicKey: String
    /// M: how many shares were written.
    public var shares: Int
    /// N: how many of them rebuild the key.
    public var threshold: Int
    /// SHA-256 of each share written, by its x coordinate, so a damaged share is named.
    public var shareChecksums: [Int: String]
    /// Whether devices are told to encrypt to this key; a disabled key is kept for `enable --preserve`.
    public var enabled: Bool
    public var createdAt: Date

    public init(
        fingerprint: String, publicKey: String, shares: Int, threshold: Int,
        shareChecksums: [Int: String], enabled: Bool, createdAt: Date
    ) {
        self.fingerprint = fingerprint
        self.publicKey = publicKey
        self.shares = shares
        self.threshold = threshold
        self.shareChecksums = shareChecksums
        self.enabled = enabled
        self.createdAt = createdAt
    }
}

/// One line of the append-only secret access log: who did what to which secrets, and how it ended.
public struct SecretAccessEntry: Sendable, Equatable {
    public var at: Date
    /// enable, access, decrypt, encrypt, disable, select, deselect.
    public var action: String
    /// The operating-system user who ran the command, and the one who ran it through sudo.
    public var user: String
    public var sudoUser: String?
    public var hosts: [String]
    public var selectors: [String]
    /// What came of it ("ok", or why it stopped); never a secret value.
    public var outcome: String

    public init(
        at: Date, action: String, user: String, sudoUser: String?, hosts: [String],
        selectors: [String], outcome: String
    ) {
        self.at = at
        self.action = action
        self.user = user
        self.sudoUser = sudoUser
        self.hosts = hosts
        self.selectors = selectors
        self.outcome = outcome
    }
}
