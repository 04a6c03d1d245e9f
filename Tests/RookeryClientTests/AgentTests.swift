import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryClient

/// The agent's parts that need no server: its backoff schedule, its pause after quick answers, its one-per-root lock, its
/// settings switch, and the marks its poll carries.
@Suite struct AgentTests {
    @Test func backoffDoublesFromOneSecondToSixtyWithJitter() {
        var random = SeededRandom(seed: 17)
        var backoff = AgentBackoff()
        let ceilings = [1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60]
        var waits: [Duration] = []
        for ceiling in ceilings {
            let wait = backoff.next(using: &random)
            waits.append(wait)
            #expect(wait >= .milliseconds(ceiling * 500) && wait <= .seconds(ceiling), "\(wait) for \(ceiling)")
        }
        #expect(Set(waits).count > 5, "jittered, not fixed")
        backoff.reset()
        let first = backoff.next(using: &random)
        #expect(first >= .milliseconds(500) && first <= .seconds(1))
        #expect(AgentBackoff.ceiling(after: 1000) == 60)
    }

    /// A server answering at once with nothing new (an offer still waiting for its accept, or a
    /// server shutting down) gets a pause that starts at about 100 ms and doubles with each such
    /// answer in a row up to 1-1.5 s, every one jittered; a held poll or new work gets none and
    /// starts it over.
    @Test func quickAnswersThatStartedNothingArePacedWithAGrowingPause() {
        var random = SeededRandom(seed: 5)
        var pacing = AgentPollPacing()
        let quick = { (pacing: inout AgentPollPacing, random: inout SeededRandom) in
            pacing.pause(took: .milliseconds(3), startedSomething: false, using: &random)
        }
        for base in [100, 200, 400, 800] {
            let pause = quick(&pacing, &random)
            #expect(pause >= .milliseconds(base / 2) && pause <= .milliseconds(base * 3 / 2), "\(pause) for \(base)")
        }
        var long: [Duration] = []
        for _ in 0..<20 {
            let pause = quick(&pacing, &random)
            long.append(pause)
            #expect(pause >= .seconds(1) && pause <= .milliseconds(1500), "\(pause)")
        }
        #expect(Set(long).count > 5, "jittered, not fixed")
        #expect(pacing.pause(took: .milliseconds(3), startedSomething: true, using: &random) == .zero)
        #expect(quick(&pacing, &random) <= .milliseconds(150), "new work starts the doubling over")
        #expect(quick(&pacing, &random) <= .milliseconds(300))
        #expect(pacing.pause(took: .seconds(30), startedSomething: false, using: &random) == .zero)
        #expect(quick(&pacing, &random) <= .milliseconds(150), "a held poll starts it over")
        // Jittered from the first: a fleet answered together does not come back together.
        var firsts: Set<Duration> = []
        for _ in 0..<20 {
            var fresh = AgentPollPacing()
            firsts.insert(fresh.pause(took: .milliseconds(3), startedSomething: false, using: &random))
        }
        #expect(firsts.count > 5)
    }

    func root(_ sandbox: Sandbox, settings: String) throws -> InstallRoot {
        try sandbox.write(settings, to: "r/client/settings.yml")
        _ = try sandbox.directory("r/var/client")
        return InstallRoot(path: sandbox.path + "/r")
    }

    @Test func aSecondAgentForOneRootStopsAtOnce() throws {
        let sandbox = try Sandbox()
        // agent: false too, so an agent that ignored the lock would stop at once, not poll forever.
        let root = try root(sandbox, settings: "server_url: http://127.0.0.1:9\nagent: false\n")
        let held = try #require(try FileLock.ifFree(path: Agent.lockPath(root), access: .owner))
        defer { held.release() }
        let began = ContinuousClock.now
        #expect(try Agent(root: root).run() == .alreadyRunning)
        #expect(ContinuousClock.now - began < .seconds(5))
    }

    @Test func agentFalseStopsIt() throws {
        let sandbox = try Sandbox()
        let root = try root(sandbox, settings: "server_url: http://127.0.0.1:9\nagent: false\n")
        #expect(try Agent(root: root).run() == .turnedOff)
        // It let go of its lock.
        #expect(try FileLock.ifFree(path: Agent.lockPath(root), access: .owner) != nil)
    }

    @Test func pollMarksKeepTheHighestPatchAndTheNewestReleaseSeen() throws {
        let sandbox = try Sandbox()
        let root = try root(sandbox, settings: "")
        #expect(PollMarks.request(root) == PollRequest(release: 0, patch: 0))
        PollMarks.note(patchIDs: [3, 9, 5], root: root)
        PollMarks.note(patchIDs: [4], root: root)
        PollMarks.note(patchIDs: [], root: root)
        try sandbox.write("{\"number\":12,\"sha256\":\"ab\",\"reason\":\"bad\"}", to: "r/var/client/refused-release.json")
        #expect(PollMarks.request(root) == PollRequest(release: 12, patch: 9))
    }
}
