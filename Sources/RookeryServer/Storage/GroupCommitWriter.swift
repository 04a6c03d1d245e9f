import Foundation
import RookeryCore

/// Group commit: the one writer of what signed requests leave behind, their nonces and the
/// submitted documents. Concurrent requests queue their items here, and each batch of them goes
/// into one transaction, synced to disk once (`Store.commit`), instead of one transaction and one
/// sync per request. Each request is answered only after the transaction holding its item
/// committed, so nothing answered as done is lost when the server is killed or the power fails.
///
/// A batch is whatever is queued when the previous one committed, up to `maxBatch` items. While
/// more than one item waits (other requests are arriving), the batch stays open up to `maxWait`
/// longer to fill; a lone request is committed at once, so an idle server answers it without delay.
public final class GroupCommitWriter: Sendable {
    private let store: any Store
    private let maxBatch: Int
    private let maxWait: Duration
    /// How long a nonce is kept: a request older than this is refused as stale anyway.
    private let nonceLifetime: TimeInterval
    /// Kept longer still by this much: a replay checked against the nonces at one moment may
    /// reach its batch later (its signature check, the queue), and the nonce it collides with
    /// must still be there then.
    static let pruneMargin: TimeInterval = 300
    /// Items waiting at most; more are answered `busy` (503) at once, and the device sends
    /// again later. Each holds a document, so a stalled disk must not queue them without end.
    private let maxQueued: Int
    private let state = Locked(State())

    private struct State {
        var queue: [Waiting] = []
        /// Whether a task is committing batches; it ends when the queue is empty.
        var draining = false
        /// The draining task's wait for a batch to fill, and which wait it is (so that a timer
        /// of an earlier wait cannot end a later one).
        var filling: (wait: UInt64, continuation: CheckedContinuation<Void, Never>)?
        var waits: UInt64 = 0
        var counts = Counts()
    }

    private struct Waiting {
        let item: CommitItem
        let answer: CheckedContinuation<CommitOutcome, any Error>
    }

    /// What the writer committed so far: transactions, and the items they held.
    public struct Counts: Sendable, Equatable {
        public var batches = 0
        public var items = 0
    }

    public init(store: any Store, nonceLifetime: TimeInterval, maxBatch: Int = 50, maxWait: Duration = .milliseconds(2)) {
        self.store = store
        self.nonceLifetime = nonceLifetime
        self.maxBatch = max(1, maxBatch)
        self.maxWait = maxWait
        maxQueued = 20 * self.maxBatch
    }

    public var committed: Counts { state.withLock { $0.counts } }

    /// Commits `item` with the others queued; returns its outcome once its transaction is on
    /// disk. Throws the transaction's error, or the error that stopped this item alone.
    public func commit(_ item: CommitItem) async throws -> CommitOutcome {
        try await withCheckedThrowingContinuation { answer in
            let (startDraining, filled, full): (Bool, CheckedContinuation<Void, Never>?, Bool) = state.withLock { state in
                guard state.queue.count < maxQueued else { return (false, nil, true) }
                state.queue.append(Waiting(item: item, answer: answer))
                let filled = state.queue.count >= maxBatch ? state.filling.take()?.continuation : nil
                defer { state.draining = true }
                return (!state.draining, filled, false)
            }
            if full {
                answer.resume(throwing: busy)
                return
            }
            filled?.resume()
            if startDraining { Task { await self.drain() } }
        }
    }

    /// Throws `busy` when the queue is full, as `commit` would: a caller with work to do before
    /// it commits (a submission's writes) asks first, so that a stalled disk does not cost every
    /// request that work only to be turned away.
    public func checkRoom() throws {
        guard state.withLock({ $0.queue.count < maxQueued }) else { throw busy }
    }

    private var busy: ProtocolError {
        ProtocolError(.busy, "\(maxQueued) requests wait to be stored; try again later")
    }

    /// Records a nonce alone; false when it was seen before.
    public func recordNonce(_ nonce: String, seenAt: Date) async throws -> Bool {
        try await commit(CommitItem(nonce: nonce, seenAt: seenAt)) != .replay
    }

    private func drain() async {
        while let batch = await nextBatch() {
            let items = batch.map(\.item)
            // From the earliest time any of them was verified, with a margin: no nonce a request
            // in this batch, or one still on its way here, could replay is dropped.
            let pruneBefore = items.map(\.seenAt).min()!.addingTimeInterval(-nonceLifetime - Self.pruneMargin)
            do {
                let results = try await store.commit(items, pruneNoncesBefore: pruneBefore)
                guard results.count == batch.count else {
                    throw ProtocolError(.internalError, "the store answered \(results.count) of \(batch.count) items")
                }
                state.withLock {
                    $0.counts.batches += 1
                    $0.counts.items += batch.count
                }
                for (waiting, result) in zip(batch, results) { waiting.answer.resume(with: result) }
            } catch {
                for waiting in batch { waiting.answer.resume(throwing: error) }
            }
        }
    }

    /// The next batch, oldest first; nil, ending the drain, when nothing is queued.
    private func nextBatch() async -> [Waiting]? {
        let othersArriving = state.withLock { $0.queue.count > 1 && $0.queue.count < maxBatch }
        if othersArriving && maxWait > .zero {
            await withCheckedContinuation { filling in
                let wait: UInt64? = state.withLock { state in
                    guard state.queue.count < maxBatch else { return nil }
                    state.waits += 1
                    state.filling = (state.waits, filling)
                    return state.waits
                }
                guard let wait else { return filling.resume() }
                Task {
                    try? await Task.sleep(for: maxWait)
                    let expired: CheckedContinuation<Void, Never>? = state.withLock { state in
                        guard state.filling?.wait == wait else { return nil }
                        return state.filling.take()?.continuation
                    }
                    expired?.resume()
                }
            }
        }
        return state.withLock { state in
            guard !state.queue.isEmpty else {
                state.draining = false
                return nil
            }
            let batch = Array(state.queue.prefix(maxBatch))
            state.queue.removeFirst(batch.count)
            return batch
        }
    }
}
