import Synchronization

/// A value shared between threads, reached only under its lock. A class around `Mutex`, which
/// cannot be copied, so that closures and several owners can share one.
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    public init(_ value: Value) { mutex = Mutex(value) }

    public func withLock<Result: Sendable>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try mutex.withLock { try body(&$0) }
    }

    public var current: Value { withLock { $0 } }
}
