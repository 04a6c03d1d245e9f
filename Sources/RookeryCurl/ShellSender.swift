import FoundationEssentials
import RookeryCore

/// Seals and sends one side's messages, in order, from any thread: one lock over sealing and
/// sending, so frames reach the server in the order of their counters (a close sealed on one
/// thread cannot overtake data sealed on another), and each batch carries its first frame's
/// number, so a batch sent again after a lost answer is stored once (`ShellLink.send`).
public final class ShellSender: Sendable {
    private struct State: Sendable {
        var channel: ShellChannel
        /// Frames the server has stored from this side.
        var sent: Int64 = 0
    }

    public let link: ShellLink
    private let state: Locked<State>

    /// `channel`: this side's, used here for sealing only.
    public init(channel: ShellChannel, link: ShellLink) {
        self.link = link
        state = Locked(State(channel: channel))
    }

    /// Seals `messages` and sends them as one batch; throws what sealing or the link threw, and
    /// then nothing of the batch counts as sent.
    public func send(_ messages: [ShellMessage]) throws {
        try state.withLock { state in
            var channel = state.channel
            let frames = try messages.map { try channel.seal($0) }
            try link.send(frames, first: state.sent + 1)
            state.channel = channel
            state.sent += Int64(frames.count)
        }
    }
}
