import Foundation
import RookeryCore

/// How many requests that fail before their signature verifies (malformed, too large, unknown
/// key, bad signature, replayed...) one address may send: a bucket of its failures that drains
/// at `perMinute` a minute. A request is let in while the bucket holds fewer than `perMinute`;
/// each failure is added as it happens, past `perMinute` too; a request that verifies costs
/// nothing. An address whose bucket is full is answered `429` with `Retry-After` before its body
/// is read, so a stranger's garbage costs the server a table lookup, not a parse, a database
/// read or a signature check.
///
/// Requests let in at once may all fail: in any T minutes an address gets at most
/// `perMinute` - 1 + `perMinute` × T + (its requests in flight at once) failures through
/// (docs/security.md), and a burst is paid back by waiting until the bucket drains below
/// `perMinute` again. Requests in flight cost nothing until they fail, so devices behind one
/// address may send any number at once.
///
/// Kept in memory per process, only for addresses that failed: at most `maxAddresses` (an IPv6
/// address counts by its /64, see `FailureLimiter.key`), about 100 bytes each.
public final class UnverifiedRequestBudget: Sendable {
    public let perMinute: Int
    static let maxAddresses = 10_000

    private struct Bucket {
        var failures: Double
        var updated: Date
    }

    private let buckets: Locked<BoundedAddressTable<Bucket>>

    public init(perMinute: Int) {
        let perMinute = max(1, perMinute)
        self.perMinute = perMinute
        buckets = Locked(
            BoundedAddressTable(
                capacity: Self.maxAddresses,
                isSpent: { Self.drained($0, now: $1, perMinute: perMinute) == 0 },
                lastUsed: { $0.updated }))
    }

    /// Refusals that count: what a stranger's garbage earns, before or at the signature check.
    /// Refusals an honest device can earn every minute without doing anything wrong (pending,
    /// rejected or revoked, a clock off, a client too old) do not count: they cost a database
    /// read and no signature check, and devices behind one NAT address would use up the budget
    /// of the accepted devices beside them.
    static func counts(_ code: ProtocolErrorCode) -> Bool {
        switch code {
        case .malformed, .bodyTooLarge, .missingSignature, .badSignature, .unknownKey, .replay, .wrongEndpoint: true
        default: false
        }
    }

    /// Whole seconds until `key` may send again; nil when it may now: its failures drained below
    /// `perMinute`, one every 60 / perMinute seconds.
    public func wait(_ key: String, now: Date = Date()) -> Int? {
        buckets.withLock { buckets in
            Self.wait(for: failures(of: key, in: buckets, now: now), perMinute: perMinute)
        }
    }

    /// `wait` and `charge` in one step: nil, charging `key`, when it may go on; else the wait.
    /// For budgets that count every request let in (enrollments), so that requests arriving
    /// together cannot all pass the check before any of them is counted.
    public func admit(_ key: String, now: Date = Date()) -> Int? {
        buckets.withLock { buckets in
            let failures = failures(of: key, in: buckets, now: now)
            if let wait = Self.wait(for: failures, perMinute: perMinute) { return wait }
            buckets.set(Bucket(failures: failures + 1, updated: now), for: key, now: now)
            return nil
        }
    }

    /// Adds a failure of `key`, as it happens.
    public func charge(_ key: String, now: Date = Date()) {
        buckets.withLock { buckets in
            let failures = failures(of: key, in: buckets, now: now)
            buckets.set(Bucket(failures: failures + 1, updated: now), for: key, now: now)
        }
    }

    /// How many addresses the table holds now.
    var trackedAddresses: Int { buckets.withLock { $0.count } }

    /// What `key` has on its count at `now`, drained.
    private func failures(of key: String, in buckets: BoundedAddressTable<Bucket>, now: Date) -> Double {
        buckets[key].map { Self.drained($0, now: now, perMinute: perMinute) } ?? 0
    }

    /// Whole seconds until a count of `failures` drains below `perMinute`; nil when it is below.
    private static func wait(for failures: Double, perMinute: Int) -> Int? {
        let excess = failures + 1 - Double(perMinute)
        guard excess > 0 else { return nil }
        return max(1, Int((excess * 60 / Double(perMinute)).rounded(.up)))
    }

    /// The failures left in `bucket` at `now`, after draining at `perMinute` a minute.
    private static func drained(_ bucket: Bucket, now: Date, perMinute: Int) -> Double {
        max(0, bucket.failures - max(0, now.timeIntervalSince(bucket.updated)) * Double(perMinute) / 60)
    }
}
