import Foundation
import RookeryCore

/// Slows guessing (passwords, enrollment tokens): an address with `limit` failed attempts within
/// `window` is refused without a check until the window has passed. Counted in the process's
/// memory first, which bounds what a stranger costs this process; then, with `shared` (the
/// server's store), in the database too, so that every server process sharing it counts the
/// same attempts and guesses spread over several hosts get no further than from one.
///
/// An attempt is counted before its check runs (`reserve`), and given back only when it
/// succeeds: a burst of parallel guesses cannot all start before the first of them is counted.
public final class FailureLimiter: Sendable {
    /// One counted attempt whose check has not finished; `giveBack` uncounts it.
    public struct Reservation: Sendable {
        let key: String
        let id: UInt64
        /// Its row in the shared count; nil without one.
        let sharedID: Int64?
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
    /// has used up its attempts here or, with `shared`, across the processes sharing it. A failed
    /// check keeps the count; a successful one gives it back. The database's errors are thrown
    /// (the attempt then counts nowhere).
    public func reserve(_ key: String, now: Date = Date()) async throws -> Reservation? {
        guard let local = reserveLocally(key, now: now) else { return nil }
        guard let shared else { return Reservation(key: key, id: local, sharedID: nil) }
        do {
            guard let sharedID = try await shared.countGuess(key: key, limit: limit, window: window, now: now) else {
                giveBackLocally(key: key, id: local)
                return nil
            }
            return Reservation(key: key, id: local, sharedID: sharedID)
        } catch {
            giveBackLocally(key: key, id: local)
            throw error
        }
    }

    /// Uncounts an attempt whose check succeeded. A shared count the database could not take
    /// back stays until its window passes: it errs towards refusing.
    public func giveBack(_ reservation: Reservation) async {
        giveBackLocally(key: reservation.key, id: reservation.id)
        if let sharedID = reservation.sharedID { try? await shared?.uncountGuess(id: sharedID) }
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
