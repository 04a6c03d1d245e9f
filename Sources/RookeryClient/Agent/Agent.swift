import FoundationEssentials
import RookeryCore

#if canImport(Glibc)
import Glibc
#endif

/// `rookery-client agent`: keeps one signed `poll` open to the server, so a shell opens in
/// seconds and an urgent patch or release arrives at once instead of at the next update interval.
/// One per install root (var/client/agent.lock). Each poll reads the settings and the state
/// afresh and keeps nothing from the one before, so its memory stays flat over days.
public struct Agent: Sendable {
    public let root: InstallRoot

    /// Why the agent stopped (SIGTERM ends it at once, with status 0, from the command).
    public enum Stop: Sendable, Equatable {
        /// Another agent holds the lock.
        case alreadyRunning
        /// `agent: false` in the settings.
        case turnedOff
        /// The install root's var/client/ is gone (uninstalled).
        case rootRemoved
        /// The agent's own update installed this release: the caller runs it (collect and submit
        /// at once, as cron does after an update) and its binary as the agent.
        case installed(release: Int)
        /// A cron run installed another release: the caller runs its binary as the agent.
        case replaced(release: Int)
    }

    /// The server holds a poll up to its agent_poll_seconds (at most 600), which the device does
    /// not know: the request's timeout allows the most, and a little for the answer.
    public static let pollTimeoutSeconds = 615
    /// An update the server asks for runs at most this often, however often it asks.
    public static let updateSpacing: Duration = .seconds(30)

    public init(root: InstallRoot) { self.root = root }

    public static func lockPath(_ root: InstallRoot) -> String { root.clientState + "/agent.lock" }

    /// Polls until told to stop. `waitForLock`: wait while another agent runs (the systemd unit)
    /// instead of returning `.alreadyRunning` at once.
    public func run(waitForLock: Bool = false) throws -> Stop {
        let path = Self.lockPath(root)
        let held: FileLock? =
            waitForLock ? try FileLock(path: path, access: .owner) : try FileLock.ifFree(path: path, access: .owner)
        guard let lock = held else { return .alreadyRunning }
        defer { lock.release() }
        var backoff = AgentBackoff()
        var random = SystemRandomNumberGenerator()
        var lastUpdate: ContinuousClock.Instant?
        var pacing = AgentPollPacing()
        let release = ReleaseInstaller.installedNumber(root)
        while true {
            let installed = ReleaseInstaller.installedNumber(root)
            if installed != release { return .replaced(release: installed) }
            ShellLauncher.reapChildren()
            // ClientContext would make var/client again: an uninstalled device's agent stops instead.
            guard FileManager.default.fileExists(atPath: root.clientState) else { return .rootRemoved }
            let context: ClientContext
            do {
                context = try ClientContext(root: root, interactive: false)
            } catch {
                Self.sleep(backoff.next(using: &random))
                continue
            }
            guard context.settings.agent else {
                context.log.info("agent: stopping: agent is false in the settings")
                return .turnedOff
            }
            do {
                let began = ContinuousClock.now
                let answer = try poll(context)
                let took = ContinuousClock.now - began
                backoff.reset()
                // Offers whose child runs or is done start nothing: they are no reason to poll at once.
                let started = ShellLauncher(root: root, log: context.log).launch(answer.shells)
                if answer.update, let release = try update(context, after: &lastUpdate) { return .installed(release: release) }
                let pause = pacing.pause(took: took, startedSomething: !started.isEmpty || answer.update, using: &random)
                if pause > .zero { Self.sleep(pause) }
            } catch {
                let wait = backoff.next(using: &random)
                context.log.warning("agent: \(error); polling again in \(wait)")
                Self.sleep(wait)
            }
        }
    }

    /// One signed poll, its answer checked as update answers are (signature, nonce, key).
    /// (Not gated on the enrollment the state file remembers: that is updated by the next
    /// delivery, while an agent started right after the admin accepted the device may poll now;
    /// the server refuses a device it has not accepted, and the agent backs off.)
    func poll(_ context: ClientContext) throws -> PollAnswer {
        let identity = try DeviceIdentity.loadOrCreate(context)
        let request = try context.signedRequest(PollMarks.request(root), by: identity)
        switch try context.connection(timeoutSeconds: Self.pollTimeoutSeconds).exchange(request, maxResponseBytes: 1 << 20) {
        case .ok(let reply):
            return try Updater.checkedAnswer(
                reply, as: PollAnswer.self, nonce: request.nonce, fingerprint: identity.fingerprint,
                pinnedKey: PinnedServerKey(root: root))
        case .refused(_, let refusal):
            throw refusal
        }
    }

    /// cron's update step now, at most once per `updateSpacing`; the release it installed, if any.
    private func update(_ context: ClientContext, after lastUpdate: inout ContinuousClock.Instant?) throws -> Int? {
        if let lastUpdate {
            let wait = lastUpdate + Self.updateSpacing - .now
            if wait > .zero { Self.sleep(wait) }
        }
        lastUpdate = .now
        return try CronRun(context: context).updateNow()
    }

    /// Starts a detached agent when `agent: true` and none holds the lock (client-cron's part).
    public static func startIfStopped(_ context: ClientContext, binary: String = ShellLauncher.runningBinary) {
        guard context.settings.agent, context.loadState().enrollment == .accepted else { return }
        guard let probe = try? FileLock.ifFree(path: lockPath(context.root), access: .owner) else { return }
        probe.release()
        if let pid = ShellLauncher.spawnDetached(binary, ["agent"], root: context.root, stdin: nil, extra: nil) {
            context.log.info("started the agent (pid \(pid))")
        } else {
            context.log.warning("cannot start the agent \(binary): \(String(cString: strerror(errno)))")
        }
    }

    static func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
