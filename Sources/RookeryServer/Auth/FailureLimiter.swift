import Foundation
import RookeryCore

/// Slows guessing (passwords, enrollment tokens): an address with `limit` failed attempts within
/// `window` is refused without a check until the window has passed. Kept in the process's memory,
/// per server process.
///
/// An attempt is counted before its check runs (`reserve`), and given back only when it
/// succeeds: a burst of parallel guesses cannot all start before the first of them is counted.
public final class FailureLimiter: Sendable {
    /// One counted attempt whose check has not finished; `giveBack` uncounts it.
    public struct Reservation: Sendable {
        let key: String
        let id: UInt64
    }

    let limit: Int
    let window: TimeInterval
    /// Counted attempts per key, oldest first; at most `maxAddresses` keys are remembered.
    private let table: Locked<Table>
    private static let maxAddresses = 10_000

    private struct Attempt {
        let id: UInt64
        let at: Date
    }

    private struct Table {
        var attempts: BoundedAddressTable<[Attempt]>
        var nextID: UInt64 = 0
    }

    public init(limit: Int = 10, window: TimeInterval = 300) {
        self.limit = limit
        self.window = window
        table = Locked(
            Table(
                attempts: BoundedAddressTable(
                    capacity: Self.maxAddresses,
                    isSpent: { attempts, now in !attempts.contains { now.timeIntervalSince($0.at) < window } },
                    lastUsed: { $0.last?.at ?? .distantPast })))
    }

    /// What failures are counted under: the address, but an IPv6 address's /64, since whoever
    /// has one address of a /64 usually has all of them.
    public static func key(for address: String) -> String {
        guard let bytes = AddressRange.bytes(of: address), bytes.count == 16 else { return address }
        return stride(from: 0, to: 8, by: 2).map { String(format: "%02x%02x", bytes[$0], bytes[$0 + 1]) }
            .joined(separator: ":") + "::/64"
    }

    /// Whether `key` has used up its attempts; for requests that bring nothing to check.
    public func isBlocked(_ key: String, now: Date = Date()) -> Bool {
        table.withLock { table in
            (table.attempts[key] ?? []).filter { now.timeIntervalSince($0.at) < window }.count >= limit
        }
    }

    /// Counts an attempt of `key` now, before its check runs; nil, counting nothing, when `key`
    /// has used up its attempts. A failed check keeps the count; a successful one gives it back.
    public func reserve(_ key: String, now: Date = Date()) -> Reservation? {
        table.withLock { table in
            let recent = (table.attempts[key] ?? []).filter { now.timeIntervalSince($0.at) < window }
            guard recent.count < limit else { return nil }
            table.nextID += 1
            table.attempts.set(recent + [Attempt(id: table.nextID, at: now)], for: key, now: now)
            return Reservation(key: key, id: table.nextID)
        }
    }

    /// Uncounts an attempt whose check succeeded.
    public func giveBack(_ reservation: Reservation) {
        table.withLock { table in
            guard let attempts = table.attempts[reservation.key] else { return }
            let left = attempts.filter { $0.id != reservation.id }
            table.attempts.set(left.isEmpty ? nil : left, for: reservation.key, now: Date())
        }
    }
}
