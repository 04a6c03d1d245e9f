import FoundationEssentials
import RookeryCore

/// One `client-cron` run: take the lock, ask for updates when due, collect when due, submit when
/// due. It runs on every device every minute: when nothing is due it reads the settings and the
/// state and returns, and leaves a `QuietWindow` that lets the runs after it return sooner still.
public struct CronRun: Sendable {
    public enum Outcome: Equatable, Sendable {
        case busy  // another run holds the lock
        case nothingDue
        case ran(collected: Bool, submit: SubmitReport?)
        /// A new release is in place; the caller runs it (`cron --after-update`), which collects
        /// and submits at once.
        case installed(release: Int)
    }

    let context: ClientContext

    public init(context: ClientContext) { self.context = context }

    /// `afterUpdate`: the first run of a newly installed release, which collects and submits now.
    /// `stamps`: `QuietWindow.stamps` taken before the context read the settings; when given, a
    /// run that finds nothing due records its quiet window.
    public func run(now: Date = Date(), afterUpdate: Bool = false, stamps: [String]? = nil) throws -> Outcome {
        guard let lock = try context.runLock(wait: false) else { return .busy }
        defer { lock.release() }

        let state = context.loadState()
        let updateDue =
            !afterUpdate && state.enrollment == .accepted
            && Self.isDue(state.lastUpdate, every: context.settings.updateInterval, now: now)
        let collectDue = afterUpdate || Self.isDue(state.lastCollect, every: context.settings.collectInterval, now: now)
        let submitDue = afterUpdate || Self.isDue(state.lastSubmit, every: context.settings.submitInterval, now: now)
        guard updateDue || collectDue || submitDue else {
            // Settings the device refused leave it on the last good ones, which no stamp covers:
            // such runs keep taking the full path until the files are fixed.
            if let stamps, context.settingsProblem == nil,
                let window = QuietWindow(settings: context.settings, state: state, stamps: stamps)
            {
                window.record(root: context.root, log: context.log)
            }
            return .nothingDue
        }

        if updateDue {
            let installed = update()
            try context.recordRun(\.lastUpdate, at: now)
            if let installed { return .installed(release: installed) }
        }

        if collectDue {
            do { try Collector(context: context).collect(now: now) } catch { context.log.warning("collection failed: \(error)") }
            try context.recordRun(\.lastCollect, at: now)
        }
        var report: SubmitReport?
        if submitDue {
            do { report = try Submitter(context: context).enrollIfNeededAndSubmit() } catch {
                // Logged, and retried at the next interval rather than every minute.
                context.log.warning("submission failed: \(error)")
                report = SubmitReport(stoppedBecause: "\(error)")
            }
            try context.recordRun(\.lastSubmit, at: now)
        }
        return .ran(collected: collectDue, submit: report)
    }

    /// The update step alone, now: the agent's path when the server says something waits. Under
    /// the run lock, waiting for a cron run that holds it. Returns the release installed, if any.
    public func updateNow(now: Date = Date()) throws -> Int? {
        guard let lock = try context.runLock(wait: true) else { return nil }
        defer { lock.release() }
        let installed = update()
        try context.recordRun(\.lastUpdate, at: now)
        return installed
    }

    /// Applies patches and installs a new release; returns the release's number if one went in.
    private func update() -> Int? {
        do {
            return try Updater(context: context).run().installedRelease
        } catch {
            context.log.warning("update check failed: \(error)")
            if let hint = (error as? any KindedError)?.hint { context.log.info("hint: \(hint)") }
            return nil
        }
    }

    static func isDue(_ last: Date?, every seconds: Int, now: Date) -> Bool {
        guard let last else { return true }
        // A clock set back must not stop collection forever.
        return now.timeIntervalSince(last) >= Double(seconds) || last > now.addingTimeInterval(60)
    }
}
