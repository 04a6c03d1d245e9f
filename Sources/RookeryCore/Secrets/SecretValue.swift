import FoundationEssentials

/// A value that a device encrypted for the secret keepers, as it stands in a document in place of
/// the clear value:
///
///     {"secret": "<base64 OpenPGP message of the value's JSON>", "hash": "<hex HMAC-SHA256>"}
///
/// The hash is keyed by a random key that never leaves the device, so equal values on one device
/// keep equal hashes (history and the audit see that a secret changed) while nobody can test a
/// guess against it. `{"secret": null}` stands for a value the device withheld because it could
/// not encrypt it; a value the server encrypted in place has no hash.
public struct SecretValue: Equatable, Sendable {
    /// The OpenPGP message; nil when the value was withheld (or, in history, left out).
    public var message: Data?
    public var hash: String?

    public init(message: Data?, hash: String?) {
        self.message = message
        self.hash = hash
    }

    /// Stands for a selected value that a device did not send.
    public static let withheld = SecretValue(message: nil, hash: nil)

    /// Recognizes the shape above: an object with a `secret` member (base64 text or null), an
    /// optional `hash` text, and nothing else.
    public init?(_ value: JSONValue) {
        guard case .object(let members) = value, let secret = members["secret"],
            members.count == 1 || (members.count == 2 && members["hash"] != nil)
        else { return nil }
        switch secret {
        case .null: message = nil
        case .string(let text):
            guard let decoded = Data(base64Encoded: text) else { return nil }
            message = decoded
        default: return nil
        }
        switch members["hash"] {
        case nil, .null?: hash = nil
        case .string(let text)?: hash = text
        default: return nil
        }
    }

    public static func isSecret(_ value: JSONValue) -> Bool { SecretValue(value) != nil }

    public var json: JSONValue {
        var members: [String: JSONValue] = ["secret": message.map { .string($0.base64EncodedString()) } ?? .null]
        if let hash { members["hash"] = .string(hash) }
        return .object(members)
    }

    /// What history keeps: the hash alone. History records that a secret changed; the ciphertext
    /// stays only in the latest document, so a retired key's shares cannot read old history.
    public var historyForm: JSONValue {
        SecretValue(message: nil, hash: hash).json
    }

    /// Whether two secret values hold the same value as far as anyone without the key can tell:
    /// equal hashes, or both withheld. Ciphertexts differ on every encryption, so they say nothing.
    public func sameValue(as other: SecretValue) -> Bool {
        if let hash, let otherHash = other.hash { return hash == otherHash }
        return message == nil && other.message == nil && hash == nil && other.hash == nil
    }

    /// How reports, history and `bin/clients show` print any secret value.
    public static let placeholder = "[secret]"
}
