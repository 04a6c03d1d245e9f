import Foundation
import RookeryCore

/// Answers the agent's `poll`: at once when a shell waits for the device, a patch newer than the
/// device has seen, or a release newer than it runs; else when one arrives (woken in this
/// process at once, from another within the watcher's interval) or after `agent_poll_seconds`
/// with nothing. A device has one waiting poll per process: a newer one answers the older.
public struct AgentPollService: Sendable {
    let store: any Store
    let releases: ReleaseLibrary
    let signingKey: @Sendable () throws -> ServerSigningKey
    let pool: BlockingPool
    let process: ShellProcessState
    let pollSeconds: Int
    /// Whether shells are offered at all (`remote_shells`).
    let offersShells: Bool

    private var waiters: ShellWaiters { process.waiters }
    private var watcher: AgentWakeupWatcher { process.watcher }
    private var newest: Locked<[String: ShellWaiters.Ticket]> { process.newestPolls }

    /// How often a waiting poll looks whether its agent hung up (no database read).
    static let hangUpCheck = Duration.seconds(1)

    /// `connectionOpen`: false once the agent hung up; the poll ends then.
    public func poll(
        _ request: Verified<PollRequest>, connectionOpen: @Sendable () -> Bool = { true }
    ) async throws -> SignedAnswer {
        let fingerprint = request.fingerprint
        let key = ShellWaiters.device(fingerprint)
        // The watcher reads on from the newest wake-up now; the ticket is registered before the
        // database is looked at: whatever is queued after that look wakes it.
        let mark = try await store.latestAgentWakeupID()
        let ticket = waiters.register(key)
        let older = newest.withLock { $0.updateValue(ticket, forKey: fingerprint) }
        // The older poll is this process's own: the others keep theirs.
        if older != nil { waiters.wakeHere(key) }
        watcher.begin(since: mark)
        defer {
            watcher.end()
            newest.withLock { if $0[fingerprint] == ticket { $0[fingerprint] = nil } }
            waiters.unregister(ticket)
        }
        let deadline = ContinuousClock.now + .seconds(pollSeconds)
        let nothing = PollAnswer(nonce: request.nonce, key: fingerprint, shells: [], update: false)
        var look = true
        while true {
            if newest.withLock({ $0[fingerprint] != ticket }) || !connectionOpen() || waiters.isStopped {
                return try await sign(nothing)
            }
            if look {
                let (shells, update) = try await waiting(for: request)
                if !shells.isEmpty || update {
                    return try await sign(PollAnswer(nonce: request.nonce, key: fingerprint, shells: shells, update: update))
                }
            }
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero { return try await sign(nothing) }
            // The database is read again only when something woke the poll.
            look = await waiters.sleep(ticket, for: min(remaining, Self.hangUpCheck))
            try Task.checkCancellation()
        }
    }

    /// The shells requested of the device, and whether a patch or release waits for it.
    private func waiting(for request: Verified<PollRequest>) async throws -> ([ShellOffer], Bool) {
        let shells = offersShells ? try await store.pendingShellSessions(fingerprint: request.fingerprint).map(\.offer) : []
        let patches = try await store.patches(fingerprint: request.fingerprint, includeFinished: false)
        if patches.contains(where: { $0.id > request.message.patch }) { return (shells, true) }
        let releases = self.releases
        let latest = try await pool.run { try releases.latest() }
        return (shells, (latest?.number ?? 0) > request.message.release)
    }

    private func sign(_ answer: PollAnswer) async throws -> SignedAnswer {
        let body = try answer.encoded()
        let signingKey = self.signingKey
        return SignedAnswer(body: body, signature: try await pool.run { try signingKey() }.sign(body))
    }
}
