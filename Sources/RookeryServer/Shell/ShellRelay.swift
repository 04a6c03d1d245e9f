import Foundation
import RookeryCore

/// Relays a session's frames, which it cannot open, between the admin and the device through the
/// database: `send` stores a batch in one direction, `receive` hands out what waits in it, holding
/// the call while nothing does.
public struct ShellRelay: Sendable {
    let store: any Store
    let waiters: ShellWaiters

    /// How long a receive waits for a frame, and how often it looks for one sent through another
    /// server process (in this process, a send wakes it at once).
    public static let receiveWait = Duration.seconds(25)
    static let recheck = Duration.milliseconds(50)
    /// A send's body: at most what may wait in a direction.
    public static let maxSendBytes = ShellFrameBounds.maxWaitingBytes

    /// What a receive hands out: the frames' bytes one after another, and the last one's number.
    public struct Received: Sendable {
        public var frames: [ShellStoredFrame]
        public var lastSeq: Int64
    }

    /// Stores the whole frames in `body` in `direction`; returns the last one's number.
    /// `first`: the sender's number for the body's first frame (see `appendShellFrames`).
    public func send(id: String, direction: ShellDirection, body: Data, first: Int64? = nil, now: Date = Date()) async throws -> Int64 {
        let frames = try Self.frames(in: body)
        do {
            let seqs = try await store.appendShellFrames(
                id: id, direction: direction, frames: frames.map(\.encoded), first: first, at: now)
            waiters.wake(ShellWaiters.frames(id, direction))
            return seqs.last ?? 0
        } catch let refusal as ShellFramesRefused {
            switch refusal {
            case .full: throw ShellRefusal.busy("\(refusal); send the same bytes again in a moment")
            case .tooLarge, .tooSmall: throw ProtocolError(.malformed, "\(refusal)")
            case .gap: throw ShellRefusal.conflict("\(refusal)")
            case .notOpen: throw try await notOpen(id)
            }
        }
    }

    /// The body as frames: whole ones, at least one, nothing left over.
    static func frames(in body: Data) throws -> [ShellFrame] {
        var decoder = ShellFrameDecoder(bufferLimit: maxSendBytes)
        do {
            try decoder.append(body)
            let frames = try decoder.nextFrames()
            try decoder.finish()
            guard !frames.isEmpty else { throw ProtocolError(.malformed, "the body holds no shell frame") }
            return frames
        } catch let error as ShellChannelError {
            throw ProtocolError(.malformed, "the body is not whole shell frames: \(error)")
        }
    }

    /// Why a session takes no frames: 410 with its reason once it ended, 409 while the device
    /// has not accepted it, 404 when there is none.
    private func notOpen(_ id: String) async throws -> any Error {
        guard let record = try await store.shellSession(id: id) else {
            return ProtocolError(.notFound, "there is no shell session \(id)")
        }
        if record.state == .requested { return ShellRefusal.conflict("the device has not accepted the session yet") }
        return ShellRefusal.gone(record.closeReason)
    }

    /// The frames after `after` in `direction` (deleting those up to it: read past is
    /// acknowledged), waiting up to `wait` for one. 410 once the session ended and none is left.
    /// `connectionOpen`: false once the caller hung up; the wait ends then.
    public func receive(
        id: String, direction: ShellDirection, after: Int64, wait: Duration = receiveWait,
        connectionOpen: @Sendable () -> Bool = { true }
    ) async throws -> Received {
        let ticket = waiters.register(ShellWaiters.frames(id, direction))
        defer { waiters.unregister(ticket) }
        let deadline = ContinuousClock.now + wait
        let first: [ShellStoredFrame]
        do {
            first = try await store.shellFrames(id: id, direction: direction, after: after, limit: ShellFrameBounds.maxWaiting)
        } catch let error as AdminError where error.kind == .notFound {
            throw ProtocolError(.notFound, "there is no shell session \(id)")
        }
        if !first.isEmpty { return Received(frames: first, lastSeq: first.last?.seq ?? after) }
        while true {
            guard
                let peeked = try await store.peekShellFrames(
                    id: id, direction: direction, after: after, limit: ShellFrameBounds.maxWaiting)
            else { throw ProtocolError(.notFound, "there is no shell session \(id)") }
            let (record, frames) = peeked
            if !frames.isEmpty { return Received(frames: frames, lastSeq: frames.last?.seq ?? after) }
            if record.state == .closed || record.state == .refused { throw ShellRefusal.gone(record.closeReason) }
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero || !connectionOpen() || waiters.isStopped { return Received(frames: [], lastSeq: after) }
            await waiters.sleep(ticket, for: min(remaining, Self.recheck))
            try Task.checkCancellation()
        }
    }
}
