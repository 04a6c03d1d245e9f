import Crypto
import FoundationEssentials

/// What the server manages on one device, as the `update` answer carries it (`managed`): the
/// fleet's client settings for it, its firewall table, and the `authorized_keys` of the accounts
/// it manages. Each part is absent when nothing manages it. `sha256` names the whole: the device
/// sends back the one it last received (`managed_sha256`), and the server leaves the part out of
/// its answer while they agree.
public struct ManagedState: Codable, Sendable, Equatable {
    /// Setting name to value, as a client settings file writes it (see `FleetSettings`).
    public let settings: [String: String]?
    /// The whole of one nftables table, `table inet rookery { ... }`.
    public let firewall: String?
    /// Account name to the complete contents of its authorized_keys file.
    public let authorizedKeys: [String: String]?
    public let sha256: String

    public init(settings: [String: String]?, firewall: String?, authorizedKeys: [String: String]?) {
        self.settings = settings
        self.firewall = firewall
        self.authorizedKeys = authorizedKeys
        sha256 = Self.digest(settings: settings, firewall: firewall, authorizedKeys: authorizedKeys)
    }

    enum CodingKeys: String, CodingKey {
        case settings, firewall, sha256
        case authorizedKeys = "authorized_keys"
    }

    /// Whether `sha256` is the digest of the parts: an answer's state is checked before use.
    public var isIntact: Bool { sha256 == Self.digest(settings: settings, firewall: firewall, authorizedKeys: authorizedKeys) }

    /// SHA-256 over the parts' JSON with sorted keys (the parts alone, without the digest).
    static func digest(settings: [String: String]?, firewall: String?, authorizedKeys: [String: String]?) -> String {
        var parts: [String: JSONValue] = [:]
        if let settings { parts["settings"] = .object(settings.mapValues(JSONValue.string)) }
        if let firewall { parts["firewall"] = .string(firewall) }
        if let authorizedKeys { parts["authorized_keys"] = .object(authorizedKeys.mapValues(JSONValue.string)) }
        return Hex.string(SHA256.hash(data: Data(JSONValue.object(parts).serializedString.utf8)))
    }
}
