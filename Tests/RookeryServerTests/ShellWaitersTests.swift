import Foundation
import Testing

@testable import RookeryServer

/// The in-process wake-ups long polls sleep on: a wake is never lost between a waiter's look at
/// the database and its sleep, a sleep ends at its timeout, cancellation, or when unregistered.
/// (Bounds are loose: other suites' gpg runs may hold the cooperative threads for a while.)
@Suite struct ShellWaitersTests {
    let waiters = ShellWaiters()

    static func seconds(_ body: () async -> Void) async -> Double {
        let start = ContinuousClock.now
        await body()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    @Test func aWakeBeforeTheSleepEndsItAtOnceAndOnlyOnce() async {
        let ticket = waiters.register("k")
        defer { waiters.unregister(ticket) }
        waiters.wake("k")
        #expect(await Self.seconds { await waiters.sleep(ticket, for: .seconds(60)) } < 30)
        #expect(await Self.seconds { await waiters.sleep(ticket, for: .milliseconds(200)) } >= 0.19, "the wake was used up")
    }

    @Test func aWakeEndsASleepAndOtherKeysSleepOn() async throws {
        let ticket = waiters.register("k")
        let other = waiters.register("other")
        defer {
            waiters.unregister(ticket)
            waiters.unregister(other)
        }
        async let woken = Self.seconds { await waiters.sleep(ticket, for: .seconds(60)) }
        async let untouched = Self.seconds { await waiters.sleep(other, for: .milliseconds(500)) }
        try await Task.sleep(for: .milliseconds(100))
        waiters.wake("k")
        #expect(await woken < 30)
        #expect(await untouched >= 0.49)
    }

    @Test func aSleepEndsWhenCancelledOrUnregistered() async throws {
        let ticket = waiters.register("k")
        let sleeper = Task { await Self.seconds { await waiters.sleep(ticket, for: .seconds(60)) } }
        try await Task.sleep(for: .milliseconds(100))
        sleeper.cancel()
        #expect(await sleeper.value < 30)
        async let unregistered = Self.seconds { await waiters.sleep(ticket, for: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(100))
        waiters.unregister(ticket)
        #expect(await unregistered < 30)
    }
}
