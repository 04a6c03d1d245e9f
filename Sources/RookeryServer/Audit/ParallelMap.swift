import Foundation
import RookeryCore

extension Array where Element: Sendable {
    /// `map` on every core, in order. Worth it only for pure work on large arrays (the audit's
    /// JSON parsing and check evaluation); small arrays are mapped in place. It blocks the calling
    /// thread until done, as the CPU-bound work it is meant for would anyway.
    func parallelMap<T: Sendable>(_ transform: @Sendable (Element) -> T) -> [T] {
        let chunks = Swift.max(1, Swift.min(ProcessInfo.processInfo.activeProcessorCount, count / 100))
        guard chunks > 1 else { return map(transform) }
        let results = Locked([Int: [T]]())
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            // Chunk c takes elements c, c + chunks, ...: even shares whatever the costs' order.
            let share = stride(from: chunk, to: count, by: chunks).map { transform(self[$0]) }
            results.withLock { $0[chunk] = share }
        }
        let shares = results.current
        return indices.map { shares[$0 % chunks]![$0 / chunks] }
    }

    /// The same for work that may fail: the first failure (in order) is thrown.
    func parallelMap<T: Sendable>(_ transform: @Sendable (Element) throws -> T) throws -> [T] {
        try parallelMap { element in Result { try transform(element) } }.map { try $0.get() }
    }
}
