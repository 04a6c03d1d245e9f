import RookeryCore

/// Counts the open connections of the whole process, in total and per client address, and says
/// whether one more may open. An IPv6 address is counted by its /64, as `FailureLimiter` counts
/// failures, since whoever has one address of a /64 usually has all of them.
public final class ConnectionLimiter: Sendable {
    /// Why a connection was not let in.
    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case total(limit: Int)
        case address(String, limit: Int)

        public var description: String {
            switch self {
            case .total(let limit): "\(limit) connections are open (max_connections)"
            case .address(let key, let limit): "\(limit) connections from \(key) are open (max_connections_per_address)"
            }
        }
    }

    /// A connection counted as open; `release` it when it closes.
    public struct Admission: Sendable {
        /// What it counts under per address; nil: toward the total only.
        let key: String?
    }

    private struct Counts {
        var total = 0
        var perKey: [String: Int] = [:]
    }

    let maxConnections: Int
    let maxPerAddress: Int
    private let unlimited: [AddressRange]
    /// Only keys with open connections are kept, so this holds at most `maxConnections` entries.
    private let counts = Locked(Counts())

    public init(maxConnections: Int, maxPerAddress: Int, unlimited: [AddressRange] = []) {
        self.maxConnections = maxConnections
        self.maxPerAddress = maxPerAddress
        self.unlimited = unlimited
    }

    public convenience init(limits: EdgeLimits) {
        self.init(
            maxConnections: limits.maxConnections, maxPerAddress: limits.maxConnectionsPerAddress,
            unlimited: limits.unlimitedAddresses)
    }

    /// Counts a new connection from `address` (nil: not an IP peer) if neither cap is reached.
    public func admit(_ address: String?) -> Result<Admission, Refusal> {
        let key = address.flatMap { address in
            unlimited.contains { $0.contains(address) } ? nil : Self.key(for: address)
        }
        return counts.withLock { counts in
            guard counts.total < maxConnections else { return .failure(.total(limit: maxConnections)) }
            if let key {
                guard counts.perKey[key, default: 0] < maxPerAddress else {
                    return .failure(.address(key, limit: maxPerAddress))
                }
                counts.perKey[key, default: 0] += 1
            }
            counts.total += 1
            return .success(Admission(key: key))
        }
    }

    public func release(_ admission: Admission) {
        counts.withLock { counts in
            counts.total -= 1
            guard let key = admission.key, let open = counts.perKey[key] else { return }
            counts.perKey[key] = open > 1 ? open - 1 : nil
        }
    }

    /// Connections open now, in total.
    public var openConnections: Int { counts.withLock { $0.total } }

    /// Connections open now under `address`'s key (for an unlimited address: none are counted).
    public func openConnections(from address: String) -> Int {
        counts.withLock { $0.perKey[Self.key(for: address)] ?? 0 }
    }

    /// What a connection counts under: an IPv4 address (also when the peer's is IPv4-mapped
    /// IPv6, as on a dual-stack listener) or an IPv6 /64.
    static func key(for address: String) -> String {
        guard let bytes = AddressRange.bytes(of: address), bytes.count == 4 else { return FailureLimiter.key(for: address) }
        return bytes.map(String.init).joined(separator: ".")
    }
}
