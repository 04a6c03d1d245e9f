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

    /// Refusals that count: everything that stops a request before its signature verified,
    /// except the server's own trouble (busy, internal errors) and this refusal itself.
    static func counts(_ code: ProtocolErrorCode) -> Bool {
        switch code {
        case .busy, .internalError, .tooManyFailures: false
        default: true
        }
    }

    /// Whole seconds until `key` may send again; nil when it may now.
    public func wait(_ key: String, now: Date = Date()) -> Int? {
        buckets.withLock { buckets in
            guard let bucket = buckets[key] else { return nil }
            // Room for one more failure, or the time until there is: one drains in 60 / perMinute s.
            let excess = drained(bucket, now: now) + 1 - Double(perMinute)
            guard excess > 0 else { return nil }
            return max(1, Int((excess * 60 / Double(perMinute)).rounded(.up)))
        }
    }

    /// How many addresses the table holds now.
    var trackedAddresses: Int { buckets.withLock { $0.count } }

    /// Counts one failed request of `key`.
    public func charge(_ key: String, now: Date = Date()) {
        buckets.withLock { buckets in
            if buckets[key] == nil, buckets.count >= Self.maxAddresses { forgetOld(&buckets, now: now) }
            let failures = buckets[key].map { drained($0, now: now) } ?? 0
            buckets[key] = Bucket(failures: min(failures + 1, Double(perMinute)), updated: now)
        }
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
