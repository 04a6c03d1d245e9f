import Dispatch

/// Runs blocking work (every GPGME call waits for a gpg process) away from the event loops,
/// at most `width` at a time.
public final class BlockingPool: @unchecked Sendable {
    private let queue = DispatchQueue(label: "rookery.blocking", attributes: .concurrent)
    private let slots: DispatchSemaphore

    public init(width: Int) {
        slots = DispatchSemaphore(value: max(1, width))
    }

    public func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [slots] in
                slots.wait()
                defer { slots.signal() }
                continuation.resume(with: Result { try work() })
            }
        }
    }
}
