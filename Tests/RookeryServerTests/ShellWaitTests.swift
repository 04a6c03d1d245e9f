import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RookeryCore
import Testing

@testable import RookeryServer

/// The long polls of the remote shell: the agent's poll, a receive, a state wait; woken in the
/// process at once, and from a second store on the same database file (another server process).
@Suite struct ShellWaitTests {
    typealias S = ShellTestServer
    let sandbox: Sandbox
    let context: ServerContext
    let alice: TestDevice

    init() async throws {
        sandbox = try Sandbox()
        // Polls are held 8 s: far enough above the bounds below that a woken poll is told apart.
        context = try await S.context(sandbox) { $0.agentPollSeconds = 8 }
        alice = try TestDevice(sandbox, name: "alice")
        // Made on first use, which takes gpg runs: not within the timed waits below.
        _ = try context.signingKey()
    }

    func poll(_ client: some TestClientProtocol, release: Int64 = 0, patch: Int64 = 0) async throws -> PollAnswer {
        let request = try alice.sign(.poll, ["release": .integer(release), "patch": .integer(patch)])
        let response = try await post(client, request)
        #expect(response.status == .ok)
        let body = Data(buffer: response.body)
        let signature = try #require(
            response.headers[HTTPField.Name(WireProtocol.signatureHeader)!].flatMap { Data(base64Encoded: $0) })
        #expect(try context.signingHome.verify(signature: signature, data: body).fingerprint == (try context.signingKey()).fingerprint)
        let answer = try JSONDecoder().decode(PollAnswer.self, from: body)
        #expect(answer.nonce == request.nonce && answer.key == alice.fingerprint)
        return answer
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    @Test func aPollAnswersAtOnceWhenAShellWaitsAndIsWokenWhenOneIsOpened() async throws {
        try await withServer(context, accepting: [alice], over: .router) { client in
            let id = try await S.open(client, host: "alice")
            let atOnce = try await poll(client)
            #expect(atOnce.shells.map(\.sessionID) == [id] && !atOnce.update)
            _ = try await S.admin(client, "\(id)/close", body: S.json([:]))

            async let woken = poll(client)
            try await Task.sleep(for: .milliseconds(300))
            let second = try await S.open(client, host: "alice")
            let answer = try await woken
            // A poll that runs out answers nothing without looking again: the shell shows it was woken.
            #expect(answer.shells.map(\.sessionID) == [second])
        }
    }

    @Test func anIdlePollWaitsAndANewerPollAnswersTheOlderWithNothing() async throws {
        // Polls held a minute here: a busy machine may starve this test for many seconds, and
        // the older poll must still be told apart from one that ran out.
        let sandbox = try Sandbox()
        let context = try await S.context(sandbox) { $0.agentPollSeconds = 60 }
        let alice = try TestDevice(sandbox, name: "alice")
        try await withServer(context, accepting: [alice], over: .router) { client in
            func poll() async throws -> PollAnswer {
                let response = try await post(client, try alice.sign(.poll, ["release": .integer(0), "patch": .integer(0)]))
                return try JSONDecoder().decode(PollAnswer.self, from: Data(buffer: response.body))
            }
            let start = ContinuousClock.now
            let older = Task { try await poll() }
            try await Task.sleep(for: .milliseconds(500))
            let newer = Task { try await poll() }
            let olderAnswer = try await older.value
            #expect(Self.seconds(since: start) < 45, "ended by the newer poll, not after its 60 s")
            #expect(olderAnswer.shells.isEmpty && !olderAnswer.update)
            try await Task.sleep(for: .milliseconds(500))
            let id = try await S.open(client, host: "alice")
            #expect(try await newer.value.shells.map(\.sessionID) == [id], "the newer one was still waiting")
        }
    }

    @Test func aPatchQueuedThroughAnotherStoreWakesAWaitingPoll() async throws {
        try await withServer(context, accepting: [alice], over: .router) { client in
            let other = try await AdminContext.openStore(context.settings, root: context.root)
            async let woken = poll(client)
            try await Task.sleep(for: .milliseconds(400))
            let patch = try await PatchAdmin(store: other).write(
                hosts: ["alice"], target: "client/plugins/x.sh", content: Data("#!/bin/sh\n".utf8), mode: 0o755)
            let answer = try await woken
            // A poll that runs out answers nothing without looking again: `update` shows it was woken.
            #expect(answer.update && answer.shells.isEmpty)
            // The device has seen that patch: nothing newer, so a poll waits again (and ends at 8 s).
            let seen = try await poll(client, patch: patch[0].1.id)
            #expect(!seen.update)
        }
    }

    @Test func aShellOpenedThroughAnotherProcessWakesAWaitingPoll() async throws {
        try await withServer(context, accepting: [alice], over: .router) { client in
            let otherProcess = ShellSessionService(
                store: try await AdminContext.openStore(context.settings, root: context.root), waiters: ShellWaiters(),
                logger: quietLogger)
            async let woken = poll(client)
            try await Task.sleep(for: .milliseconds(400))
            let opened = try await otherProcess.open(ShellOpenBody(host: "alice", adminKey: S.adminKey), openedBy: "user bob")
            let answer = try await woken
            // A poll that runs out answers nothing without looking again: the shell shows it was woken.
            #expect(answer.shells.map(\.sessionID) == [opened.sessionID] && answer.shells.first?.openedBy == "user bob")
        }
    }

    @Test func aNewerReleaseAnswersAPollAtOnce() async throws {
        try await withServer(context, accepting: [alice], over: .router) { client in
            _ = try await context.releases.publish { _ in (Data("tarball".utf8), 1) }
            #expect(try await poll(client, release: 0).update, "answered from its first look")
        }
    }

    @Test func aReceiveIsWokenBySendInThisProcess() async throws {
        try await withServer(context, accepting: [alice], over: .router) { client in
            let id = try await S.open(client, host: "alice")
            let token = try await S.accept(client, id, by: alice)
            let start = ContinuousClock.now
            async let received = S.admin(client, "\(id)/receive?after=0")
            try await Task.sleep(for: .milliseconds(300))
            _ = try await S.device(client, id, "send", token: token, body: S.frame(5))
            let response = try await received
            #expect(Data(buffer: response.body) == S.frame(5) && S.lastSeq(response) == 1)
            #expect(Self.seconds(since: start) < 20, "woken, not the 25 s wait")
        }
    }

    @Test func aReceiveSeesASendThroughASecondStoreAndRelay() async throws {
        try await withServer(context, accepting: [alice], over: .router) { client in
            let id = try await S.open(client, host: "alice")
            _ = try await S.accept(client, id, by: alice)
            let otherProcess = ShellRelay(
                store: try await AdminContext.openStore(context.settings, root: context.root), waiters: ShellWaiters())
            let start = ContinuousClock.now
            async let adminReceived = S.admin(client, "\(id)/receive?after=0")
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await otherProcess.send(id: id, direction: .deviceToAdmin, body: S.frame(6)) == 1)
            let response = try await adminReceived
            #expect(Data(buffer: response.body) == S.frame(6))
            #expect(Self.seconds(since: start) < 20, "seen within 50 ms, not after 25 s")
        }
    }

    @Test func aStateWaitEndsWhenTheDeviceAnswers() async throws {
        try await withServer(context, accepting: [alice], over: .router) { client in
            let id = try await S.open(client, host: "alice")
            let start = ContinuousClock.now
            async let waited = S.admin(client, "\(id)/state?wait=25")
            try await Task.sleep(for: .milliseconds(300))
            _ = try await S.accept(client, id, by: alice)
            let state = try JSONDecoder().decode(ShellStateAnswer.self, from: Data(buffer: try await waited.body))
            #expect(state.state == "open" && Self.seconds(since: start) < 20, "woken, not the 25 s wait")
            try expectRefusal(try await S.admin(client, "\(id)/state?wait=26"), .malformed)
        }
    }

    @Test func theSweepClosesIdleAndUnansweredSessionsAndWakesTheirWaiters() async throws {
        try await withServer(context, accepting: [alice], over: .router) { client in
            let unanswered = try await S.open(client, host: "alice")
            let idle = try await S.open(client, host: "alice")
            _ = try await S.accept(client, idle, by: alice)
            let sweeper = ShellSweeper(context: context, logger: quietLogger)
            #expect(try await sweeper.sweep().isEmpty)
            async let waited = S.admin(client, "\(idle)/receive?after=0")
            try await Task.sleep(for: .milliseconds(300))
            let later = Date().addingTimeInterval(TimeInterval(context.settings.shellIdleSeconds + 1))
            let closed = try await sweeper.sweep(now: later)
            #expect(Set(closed.map(\.id)) == [unanswered, idle])
            let gone = try await waited
            #expect(gone.status == .gone)
            #expect(try S.refusal(gone).message == "idle for 900 seconds")
            let state = try JSONDecoder().decode(
                ShellStateAnswer.self, from: Data(buffer: try await S.admin(client, "\(unanswered)/state").body))
            #expect(state.closeReason == "the device did not answer within 120 seconds")
        }
    }
}
