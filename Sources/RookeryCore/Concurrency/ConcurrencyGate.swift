/// At most `limit` holders at once; one more is turned away rather than queued, so a flood
/// costs its senders a refusal instead of everyone else a wait.
public final class ConcurrencyGate: Sendable {
    public let limit: Int
    private let holders = Locked(0)

    public init(limit: Int) { self.limit = max(1, limit) }

    /// Whether the caller got in; it must `leave()` once done.
    public func enter() -> Bool {
        holders.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    public func leave() {
        holders.withLock { $0 -= 1 }
    }
}
