import Foundation
import RookeryCore

/// Slows password guessing: an address with `limit` failed attempts within `window` is refused
/// without a check until the window has passed. Kept in the process's memory, per server process.
public final class FailureLimiter: Sendable {
    let limit: Int
    let window: TimeInterval
    /// Failure times per address; at most `maxAddresses` addresses are remembered.
    private let failures = Locked([String: [Date]]())
    private let maxAddresses = 10_000

    public init(limit: Int = 10, window: TimeInterval = 300) {
        self.limit = limit
        self.window = window
    }

    /// What failures are counted under: the address, but an IPv6 address's /64, since whoever
    /// has one address of a /64 usually has all of them.
    public static func key(for address: String) -> String {
        guard let bytes = AddressRange.bytes(of: address), bytes.count == 16 else { return address }
        return stride(from: 0, to: 8, by: 2).map { String(format: "%02x%02x", bytes[$0], bytes[$0 + 1]) }
            .joined(separator: ":") + "::/64"
    }

    public func isBlocked(_ address: String, now: Date = Date()) -> Bool {
        failures.withLock { table in
            (table[address] ?? []).filter { now.timeIntervalSince($0) < window }.count >= limit
        }
    }

    public func recordFailure(_ address: String, now: Date = Date()) {
        failures.withLock { table in
            if table[address] == nil && table.count >= maxAddresses {
                // A flood of addresses must not grow memory: forget those whose failures are old,
                // then, if that is not enough, the half whose latest failure is oldest.
                table = table.filter { $0.value.contains { now.timeIntervalSince($0) < window } }
                if table.count >= maxAddresses {
                    let newest = table.sorted { ($0.value.last ?? .distantPast) > ($1.value.last ?? .distantPast) }
                    table = Dictionary(uniqueKeysWithValues: newest.prefix(maxAddresses / 2).map { ($0.key, $0.value) })
                }
            }
            table[address, default: []] = (table[address] ?? []).filter { now.timeIntervalSince($0) < window } + [now]
        }
    }
}
