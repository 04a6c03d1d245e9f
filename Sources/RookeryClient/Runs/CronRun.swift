import Foundation
import RookeryCore

/// One `client-cron` run: take the lock, collect when due, submit when due. When nothing is due
/// it reads two small files and returns, because it runs on every device every minute.
public struct CronRun: Sendable {
    public enum Outcome: Equatable, Sendable {
        case busy                       // another run holds the lock
        case nothingDue
        case ran(collected: Bool, submit: SubmitReport?)
    }

    let context: ClientContext

    public init(context: ClientContext) { self.context = context }

    public func run(now: Date = Date()) throws -> Outcome {
        guard let lock = try context.runLock(wait: false) else { return .busy }
        defer { lock.release() }

        var state = context.loadState()
        let collectDue = Self.isDue(state.lastCollect, every: context.settings.collectInterval, now: now)
        let submitDue = Self.isDue(state.lastSubmit, every: context.settings.submitInterval, now: now)
        guard collectDue || submitDue else { return .nothingDue }

        if collectDue {
            do { try Collector(context: context).collect(now: now) }
            catch { context.log.warning("collection failed: \(error)") }
            state = context.loadState()
            state.lastCollect = now
            try context.save(state)
        }
        var report: SubmitReport?
        if submitDue {
            do { report = try submit() }
            catch {
                // Logged, and retried at the next interval rather than every minute.
                context.log.warning("submission failed: \(error)")
                report = SubmitReport(stoppedBecause: "\(error)")
            }
            state = context.loadState()
            state.lastSubmit = now
            try context.save(state)
        }
        return .ran(collected: collectDue, submit: report)
    }

    private func submit() throws -> SubmitReport {
        if context.loadState().enrollment == .none {
            do { try Enroller(context: context).enroll() }
            catch {
                context.log.warning("enrollment failed: \(error)")
                return SubmitReport(stoppedBecause: "not enrolled: \(error)")
            }
        }
        return try Submitter(context: context).submitQueue()
    }

    static func isDue(_ last: Date?, every seconds: Int, now: Date) -> Bool {
        guard let last else { return true }
        // A clock set back must not stop collection forever.
        return now.timeIntervalSince(last) >= Double(seconds) || last > now.addingTimeInterval(60)
    }
}
