import FoundationEssentials

/// What devices must encrypt and to which key, as the server's signed `update` answer carries it
/// (`secret_keeping`), so a change reaches the fleet at its next update check without a release.
public struct SecretKeepingPolicy: Codable, Sendable, Equatable {
    /// The key selected values are encrypted to; nil while secret keeping is not enabled, when
    /// devices withhold selected values instead.
    public var key: SecretKeepingKey?
    /// Dotted paths (see `SecretSelector`).
    public var selectors: [String]

    public init(key: SecretKeepingKey?, selectors: [String]) {
        self.key = key
        self.selectors = selectors
    }

    /// The selectors as paths. The server sends only selectors it parsed itself; one that does not
    /// parse here (a newer syntax) is skipped.
    public func parsedSelectors() -> [SecretSelector] {
        selectors.compactMap { try? SecretSelector($0) }
    }
}

/// The public half of the secret-keeping key.
public struct SecretKeepingKey: Codable, Sendable, Equatable {
    /// 40 hex digits, upper case.
    public var fingerprint: String
    /// ASCII-armored OpenPGP public key.
    public var publicKey: String

    public init(fingerprint: String, publicKey: String) {
        self.fingerprint = fingerprint
        self.publicKey = publicKey
    }

    enum CodingKeys: String, CodingKey {
        case fingerprint
        case publicKey = "public_key"
    }
}
