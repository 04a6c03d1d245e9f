import HummingbirdCore
import NIOCore

/// Closes a connection that has not delivered a whole request (head and body) within `seconds`
/// of opening, or of its previous response being sent. The bytes that arrive do not restart the
/// clock (as they would an idle timeout), so a peer that trickles a request a byte at a time is cut
/// off at the deadline just as a silent one is. Over TLS the handshake counts toward it too.
///
/// The clock stops while the server owes the peer an answer; `ResponseDeadline` watches that.
final class RequestDeadline: ChannelDuplexHandler, RemovableChannelHandler {
    // The HTTP parts (this sits after the HTTP decoder, next to Hummingbird's connection handler).
    typealias InboundIn = HTTPConnectionStateHandler.InboundIn
    typealias OutboundIn = HTTPConnectionStateHandler.OutboundIn

    private let seconds: Int
    private let log: ThrottledLog
    /// Requests received whole and responses sent whole so far. Whenever every request received
    /// has been answered (also when an answer came before the request's end, as a refusal may),
    /// the server is waiting on the peer, and the clock runs.
    private var requestsReceived = 0
    private var responsesSent = 0
    private var deadline: Scheduled<Void>?

    init(seconds: Int, log: ThrottledLog) {
        self.seconds = seconds
        self.log = log
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startClock(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stopClock()
    }

    func channelActive(context: ChannelHandlerContext) {
        startClock(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopClock()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .end = unwrapInboundIn(data) {
            requestsReceived += 1
            if requestsReceived > responsesSent { stopClock() }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        // Counted once the response's end reaches the socket, so that the time a slow link takes
        // to carry the response is not charged to the next request.
        let sent = promise ?? context.eventLoop.makePromise()
        sent.futureResult.assumeIsolated().whenSuccess { [self] in
            responsesSent += 1
            if requestsReceived <= responsesSent, context.channel.isActive { startClock(context) }
        }
        context.write(data, promise: sent)
    }

    /// Starts the clock unless it already runs: a request's time counts from when the server
    /// first waited for it.
    private func startClock(_ context: ChannelHandlerContext) {
        guard deadline == nil else { return }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(Int64(seconds))) { [self] in
            deadline = nil
            let peer = context.channel.remoteAddress?.ipAddress ?? "an unknown address"
            log.log(
                .requestTimeout, .notice,
                "closed a connection from \(peer): no whole request within \(seconds) s (request_timeout)")
            context.close(promise: nil)
        }
    }

    private func stopClock() {
        deadline?.cancel()
        deadline = nil
    }
}
