import NIOCore
import RookeryCore

/// The connections whose peer has closed its side. Hummingbird allows half-closure, so a peer's
/// hang-up leaves the channel active until a write fails: a long poll would hold its place for
/// its whole wait. `Watch` (one per connection) notes the hang-up here; a waiting request
/// looks (`RookeryRequestContext.connectionOpen`) and stops waiting.
enum PeerHangUps {
    private static let hungUp = Locked<Set<ObjectIdentifier>>([])

    static func contains(_ channel: any Channel) -> Bool {
        hungUp.withLock { $0.contains(ObjectIdentifier(channel)) }
    }

    /// In every connection's pipeline, after the HTTP decoder.
    final class Watch: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = NIOAny

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event as? ChannelEvent == .some(.inputClosed) {
                let id = ObjectIdentifier(context.channel)
                hungUp.withLock { _ = $0.insert(id) }
            }
            context.fireUserInboundEventTriggered(event)
        }

        func channelInactive(context: ChannelHandlerContext) {
            forget(context.channel)
            context.fireChannelInactive()
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            forget(context.channel)
        }

        private func forget(_ channel: any Channel) {
            let id = ObjectIdentifier(channel)
            hungUp.withLock { _ = $0.remove(id) }
        }
    }
}
