import RookeryCore

/// The bounds on connections from `server/settings.yml`, checked when the server starts: a value
/// out of range stops it with a message naming the setting.
public struct EdgeLimits: Sendable {
    /// Open connections at once, over every port of the process.
    public let maxConnections: Int
    /// Open connections at once from one address (an IPv6 /64).
    public let maxConnectionsPerAddress: Int
    /// Addresses that count only toward `maxConnections`: the trusted proxies, through which
    /// every device may come.
    public let unlimitedAddresses: [AddressRange]
    /// Seconds a connection has to deliver a whole request (see `RequestDeadline`).
    public let requestTimeout: Int
    /// Seconds a response waits for a peer that does not read it (see `ResponseDeadline`).
    public let responseTimeout: Int

    public init(settings: ServerSettings) throws {
        maxConnections = try Self.checked(settings.maxConnections, "max_connections", 1...1_000_000)
        maxConnectionsPerAddress = try Self.checked(
            settings.maxConnectionsPerAddress, "max_connections_per_address",
            1...1_000_000)
        // Entries that are not addresses are refused at start by EndpointAuthenticator.
        unlimitedAddresses = settings.trustedProxies.compactMap(AddressRange.init)
        requestTimeout = try Self.checked(settings.requestTimeout, "request_timeout", 1...3600)
        responseTimeout = try Self.checked(settings.responseTimeout, "response_timeout", 1...3600)
    }

    private static func checked(_ value: Int, _ setting: String, _ range: ClosedRange<Int>) throws -> Int {
        guard range.contains(value) else {
            throw SettingsError(
                "\(setting): \(value) is out of range; give a whole number from \(range.lowerBound) to \(range.upperBound)",
                setting: [setting])
        }
        return value
    }
}
