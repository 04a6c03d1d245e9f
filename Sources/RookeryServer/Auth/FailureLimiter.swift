import Foundation
import RookeryCore

/// Slows guessing (passwords, enrollment tokens): an address with `limit` failed attempts within
/// `window` is refused without a check until the window has passed. Counted in the process's
/// memory, which bounds what a stranger costs this process; and, with `shared` (the server's
/// store), failures are also counted in the database, so that every server process sharing it
/// refuses an address that failed `limit` times anywhere.
///
/// An attempt is counted here before its check runs (`reserve`), and given back only when it
/// succeeds: a burst of parallel guesses cannot all start before the first of them is counted.
/// The database counts a failure once the check failed (`recordFailure`): a burst spread over N
/// processes at the same moment can get N times `limit` checks, and nothing more until the
/// window passes.
public final class FailureLimiter: Sendable {
    /// One counted attempt whose check has not finished; `giveBack` uncounts it.
    public struct Reservation: Sendable {
        let key: String
        let id: UInt64
    }

    let limit: Int
    let window: TimeInterval
    private let shared: (any GuessAttemptStore)?
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

    public init(limit: Int = 10, window: TimeInterval = 300, shared: (any GuessAttemptStore)? = nil) {
        self.limit = limit
        self.window = window
        self.shared = shared
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

    /// Whether `key` has used up its attempts in this process; for requests that bring nothing
    /// to check (no database read for them).
    public func isBlocked(_ key: String, now: Date = Date()) -> Bool {
        table.withLock { table in
            (table.attempts[key] ?? []).filter { now.timeIntervalSince($0.at) < window }.count >= limit
        }
    }

    /// Counts an attempt of `key` now, before its check runs; nil, counting nothing, when `key`
    /// has used up its attempts here or, with `shared`, in the database. A failed check keeps the
    /// count (and `recordFailure` tells the database); a successful one gives it back. The
    /// database's errors are thrown (the attempt then counts nowhere).
    public func reserve(_ key: String, now: Date = Date()) async throws -> Reservation? {
        guard let local = reserveLocally(key, now: now) else { return nil }
        do {
            if let shared, try await shared.recentGuesses(key: key, window: window, now: now) >= limit {
                giveBackLocally(key: key, id: local)
                return nil
            }
        } catch {
            giveBackLocally(key: key, id: local)
            throw error
        }
        return Reservation(key: key, id: local)
    }

    /// Uncounts an attempt whose check succeeded.
    public func giveBack(_ reservation: Reservation) {
        giveBackLocally(key: reservation.key, id: reservation.id)
    }

    /// Counts a failed check in the database too. A failure the database cannot take is counted
    /// in this process alone (and logged by the caller's refusal): it errs towards checking.
    public func recordFailure(_ reservation: Reservation, now: Date = Date()) async {
        try? await shared?.recordGuess(key: reservation.key, window: window, now: now)
    }

    private func reserveLocally(_ key: String, now: Date) -> UInt64? {
        table.withLock { table in
            let recent = (table.attempts[key] ?? []).filter { now.timeIntervalSince($0.at) < window }
            guard recent.count < limit else { return nil }
            table.nextID += 1
            table.attempts.set(recent + [Attempt(id: table.nextID, at: now)], for: key, now: now)
            return table.nextID
        }
    }

    private func giveBackLocally(key: String, id: UInt64) {
        table.withLock { table in
            guard let attempts = table.attempts[key] else { return }
            let left = attempts.filter { $0.id != id }
            table.attempts.set(left.isEmpty ? nil : left, for: key, now: Date())
        }
    }
}
