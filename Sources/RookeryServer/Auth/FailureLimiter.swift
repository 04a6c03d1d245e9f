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
    private let table = Locked(Table())
    private let maxAddresses = 10_000

    private struct Attempt {
        let id: UInt64
        let at: Date
    }

    private struct Table {
        var attempts: [String: [Attempt]] = [:]
        var nextID: UInt64 = 0
    }

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
            if table.attempts[key] == nil && table.attempts.count >= maxAddresses { forgetOld(&table, now: now) }
            table.nextID += 1
            table.attempts[key] = recent + [Attempt(id: table.nextID, at: now)]
            return Reservation(key: key, id: table.nextID)
        }
    }

    /// Uncounts an attempt whose check succeeded.
    public func giveBack(_ reservation: Reservation) {
        table.withLock { table in
            table.attempts[reservation.key]?.removeAll { $0.id == reservation.id }
            if table.attempts[reservation.key]?.isEmpty == true { table.attempts[reservation.key] = nil }
        }
    }

    /// A flood of addresses must not grow memory: forgets those whose attempts are old, then, if
    /// that is not enough, the half whose latest attempt is oldest.
    private func forgetOld(_ table: inout Table, now: Date) {
        table.attempts = table.attempts.filter { $0.value.contains { now.timeIntervalSince($0.at) < window } }
        if table.attempts.count >= maxAddresses {
            let newest = table.attempts.sorted { ($0.value.last?.at ?? .distantPast) > ($1.value.last?.at ?? .distantPast) }
            table.attempts = Dictionary(uniqueKeysWithValues: newest.prefix(maxAddresses / 2).map { ($0.key, $0.value) })
        }
    }
}
