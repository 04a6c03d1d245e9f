import HummingbirdCore
import NIOCore

/// Abandons a response the peer does not read. Once the connection can take no more (NIO's
/// outbound buffer is over its high-water mark, 64 KiB: a peer that stops reading gets there as
/// soon as the socket buffers are full), the peer has `seconds` to read enough for the buffer to
/// drain below its low-water mark; if it does not, the connection is closed. Closing ends the
/// task writing the response too, which lets go of what it held (a streamed release's file).
///
/// Writability is what NIO's writers wait on, so this times exactly the waits a stalled peer
/// causes, and nothing while the server itself is busy. (NIO's IdleStateHandler would also fire
/// while the server computes an answer, or between requests.)
final class ResponseDeadline: ChannelInboundHandler, RemovableChannelHandler {
    // The HTTP parts, which pass through untouched.
    typealias InboundIn = HTTPConnectionStateHandler.InboundIn

    private let seconds: Int
    private let log: ThrottledLog
    private var deadline: Scheduled<Void>?

    init(seconds: Int, log: ThrottledLog) {
        self.seconds = seconds
        self.log = log
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            stopClock()
        } else if deadline == nil {
            deadline = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(Int64(seconds))) { [self] in
                deadline = nil
                let peer = context.channel.remoteAddress?.ipAddress ?? "an unknown address"
                log.log(
                    .responseTimeout, .notice,
                    "closed a connection from \(peer): the response was not read for \(seconds) s (response_timeout)")
                context.close(promise: nil)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopClock()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopClock()
    }

    private func stopClock() {
        deadline?.cancel()
        deadline = nil
    }
}
