import RookeryCore

/// Who may use an admin-facing endpoint (`download_release`, later `pipe_create`), as the
/// `endpoint_auth:` section of server/settings.yml says. Any configured method that passes admits
/// a request: an allowed address, a server-wide user named directly or through a group, or a
/// password dedicated to the endpoint.
public struct EndpointAuthSettings: Codable, Sendable, Equatable {
    /// Addresses and CIDR ranges, IPv4 or IPv6: `192.0.2.7`, `10.0.0.0/8`, `2001:db8::/32`.
    public var ipRanges: [String] = []
    /// Server-wide users (the top-level `users:`) allowed here.
    public var users: [String] = []
    /// Groups (the top-level `groups:`) whose members are allowed here.
    public var groups: [String] = []
    /// User names with password hashes valid for this endpoint only.
    public var passwords: [String: String] = [:]
    /// The server refuses to start while nothing above is configured.
    public var mandatory: Bool = false

    public init() {}

    public var isEmpty: Bool { ipRanges.isEmpty && users.isEmpty && groups.isEmpty && passwords.isEmpty }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case ipRanges = "ip_ranges"
        case users, groups, passwords, mandatory
    }

    public init(from decoder: Decoder) throws {
        // A misspelt key (PenguinDome's `ipranges`) would leave the endpoint open.
        let c = try decoder.containerRefusingUnknownKeys(keyedBy: CodingKeys.self)
        ipRanges = try c.decodeIfPresent([String].self, forKey: .ipRanges) ?? []
        users = try c.decodeIfPresent([String].self, forKey: .users) ?? []
        groups = try c.decodeIfPresent([String].self, forKey: .groups) ?? []
        passwords = try c.decodeIfPresent([String: String].self, forKey: .passwords) ?? [:]
        mandatory = try c.decodeIfPresent(Bool.self, forKey: .mandatory) ?? false
    }
}
