import Foundation
import Logging
import RookeryCore

/// Log lines about connections refused or cut off, at most one of each kind every `interval`, so
/// that a flood of such connections cannot flood the log. The next line written says how many
/// were left out in between.
final class ThrottledLog: Sendable {
    enum Kind: Sendable, Hashable {
        case overCap, requestTimeout, responseTimeout
        /// An address ran out of its budget of unverified failures (`UnverifiedRequestBudget`).
        case overBudget
        /// An address ran out of its budget of enrollments (`AddressBudgets`).
        case overEnrollmentBudget
    }

    /// When a kind of line was last written, and how many have been left out since.
    struct Throttle {
        let interval: TimeInterval
        private var lastWritten: Date?
        private var leftOut = 0

        init(interval: TimeInterval) { self.interval = interval }

        /// Whether a line due `now` is written; if so, `leftOut` is how many were not since the last.
        mutating func shouldWrite(now: Date) -> (write: Bool, leftOut: Int) {
            if let lastWritten, now.timeIntervalSince(lastWritten) < interval {
                leftOut += 1
                return (false, 0)
            }
            defer {
                lastWritten = now
                leftOut = 0
            }
            return (true, leftOut)
        }
    }

    private let logger: Logger
    private let interval: TimeInterval
    private let throttles = Locked([Kind: Throttle]())

    init(logger: Logger, interval: TimeInterval = 10) {
        self.logger = logger
        self.interval = interval
    }

    func log(_ kind: Kind, _ level: Logger.Level, _ message: @autoclosure () -> String) {
        let interval = self.interval
        let (write, leftOut) = throttles.withLock { throttles in
            throttles[kind, default: Throttle(interval: interval)].shouldWrite(now: Date())
        }
        guard write else { return }
        let more = leftOut == 0 ? "" : " (\(leftOut) more like it since the last such line were not logged)"
        logger.log(level: level, "\(message())\(more)")
    }
}
