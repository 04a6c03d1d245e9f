import Synchronization

/// A value shared between threads, reached only under its lock.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = Mutex(())
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try lock.withLock { _ in try body(&value) }
    }

    public var current: Value { withLock { $0 } }
}
