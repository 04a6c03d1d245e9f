import HummingbirdCore
import NIOCore

/// Counts a connection against the caps of `ConnectionLimiter` as it opens, until it closes; one
/// that would pass a cap is closed at once, before any of its bytes are read (over TLS, before the
/// handshake), and the refusal is logged.
final class ConnectionAdmission: ChannelInboundHandler, RemovableChannelHandler {
    /// The HTTP parts, which pass through untouched (this sits after the HTTP decoder, next to
    /// Hummingbird's own connection handler).
    typealias InboundIn = HTTPConnectionStateHandler.InboundIn

    private enum State {
        case waitingToOpen
        case admitted(ConnectionLimiter.Admission)
        case refused, released
    }

    private let limiter: ConnectionLimiter
    private let log: ThrottledLog
    private var state = State.waitingToOpen

    init(limiter: ConnectionLimiter, log: ThrottledLog) {
        self.limiter = limiter
        self.log = log
    }

    // Accepted connections become active after their handlers are added; the first case covers
    // a channel that is already active, as NIO allows.
    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { admit(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .waitingToOpen = state { admit(context) }
        if case .admitted = state { context.fireChannelActive() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        release()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        release()
    }

    private func admit(_ context: ChannelHandlerContext) {
        let address = context.channel.remoteAddress?.ipAddress
        switch limiter.admit(address) {
        case .success(let admission):
            state = .admitted(admission)
        case .failure(let refusal):
            state = .refused
            log.log(.overCap, .warning, "refused a connection from \(address ?? "an unknown address"): \(refusal)")
            context.close(promise: nil)
        }
    }

    private func release() {
        guard case .admitted(let admission) = state else { return }
        state = .released
        limiter.release(admission)
    }
}
