import Foundation
import RookeryCore

/// How many requests that fail before their signature verifies (malformed, too large, unknown
/// key, bad signature, stale, replayed...) one address may send: a bucket of `perMinute` that
/// refills at `perMinute` a minute. An address with an empty bucket is answered `429` with
/// `Retry-After` before its body is read, so a stranger's garbage costs the server a table
/// lookup, not a parse, a database read or a signature check.
///
/// Kept in memory per process, at most `maxAddresses` addresses (an IPv6 address counts by its
/// /64, see `FailureLimiter.key`): about 100 bytes each. Devices whose requests verify never
/// spend from it.
public final class UnverifiedRequestBudget: Sendable {
    public let perMinute: Int
    static let maxAddresses = 10_000

    private struct Bucket {
        var failures: Double
        var updated: Date
    }

    private let buckets = Locked([String: Bucket]())

    public init(perMinute: Int) {
        self.perMinute = max(1, perMinute)
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

    /// Whole seconds until `key` may send again; nil when it may now.
    public func wait(_ key: String, now: Date = Date()) -> Int? {
        buckets.withLock { buckets in buckets[key].flatMap { wait(after: $0, now: now) } }
    }

    /// Counts a request of `key` as failed before its checks run, so that requests sent in
    /// parallel cannot all pass one free slot; `giveBack` uncounts it when the request verifies.
    /// Nil, counting nothing, when `key` has no room: then the seconds to wait.
    public func reserve(_ key: String, now: Date = Date()) -> Int? {
        buckets.withLock { buckets in
            if let bucket = buckets[key], let wait = wait(after: bucket, now: now) { return wait }
            if buckets[key] == nil, buckets.count >= Self.maxAddresses { forgetOld(&buckets, now: now) }
            let failures = buckets[key].map { drained($0, now: now) } ?? 0
            buckets[key] = Bucket(failures: failures + 1, updated: now)
            return nil
        }
    }

    /// Uncounts a reservation whose request verified, or failed in a way that does not count.
    public func giveBack(_ key: String, now: Date = Date()) {
        buckets.withLock { buckets in
            guard let bucket = buckets[key] else { return }
            buckets[key] = Bucket(failures: max(0, drained(bucket, now: now) - 1), updated: now)
        }
    }

    /// How many addresses the table holds now.
    var trackedAddresses: Int { buckets.withLock { $0.count } }

    /// Room for one more failure, or the whole seconds until there is: one drains every
    /// 60 / perMinute seconds.
    private func wait(after bucket: Bucket, now: Date) -> Int? {
        let excess = drained(bucket, now: now) + 1 - Double(perMinute)
        guard excess > 0 else { return nil }
        return max(1, Int((excess * 60 / Double(perMinute)).rounded(.up)))
    }

    /// The failures left in `bucket` at `now`, after draining at `perMinute` a minute.
    private func drained(_ bucket: Bucket, now: Date) -> Double {
        max(0, bucket.failures - max(0, now.timeIntervalSince(bucket.updated)) * Double(perMinute) / 60)
    }

    /// A flood of addresses must not grow memory: forgets the addresses whose buckets drained,
    /// then, if that is not enough, the half that failed longest ago.
    private func forgetOld(_ buckets: inout [String: Bucket], now: Date) {
        buckets = buckets.filter { drained($0.value, now: now) > 0 }
        if buckets.count >= Self.maxAddresses {
            let newest = buckets.sorted { $0.value.updated > $1.value.updated }.prefix(Self.maxAddresses / 2)
            buckets = Dictionary(uniqueKeysWithValues: newest.map { ($0.key, $0.value) })
        }
    }
}
