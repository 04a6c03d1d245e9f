import Foundation
import RookeryCore

extension Array where Element: Sendable {
    /// `map` on every core, in order. Worth it only for pure work on large arrays (the audit's
    /// JSON parsing and check evaluation); small arrays are mapped in place.
    func parallelMap<T: Sendable>(_ transform: @Sendable (Element) throws -> T) throws -> [T] {
        let chunks = Swift.max(1, Swift.min(ProcessInfo.processInfo.activeProcessorCount, count / 100))
        guard chunks > 1 else { return try map(transform) }
        let results = Locked([Int: [T]]())
        let failure = Locked<(any Error)?>(nil)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            do {
                // Chunk c takes elements c, c + chunks, ...: even shares whatever the costs' order.
                let share = try stride(from: chunk, to: count, by: chunks).map { try transform(self[$0]) }
                results.withLock { $0[chunk] = share }
            } catch {
                failure.withLock { $0 = error }
            }
        }
        if let error = failure.current { throw error }
        let shares = results.current
        return indices.map { shares[$0 % chunks]![$0 / chunks] }
    }

    func parallelMap<T: Sendable>(_ transform: @Sendable (Element) -> T) -> [T] {
        // The throwing version with nothing to throw.
        (try? parallelMap { (element: Element) throws -> T in transform(element) }) ?? []
    }
}
