import Hummingbird
import NIOCore

/// The request context: Hummingbird's core storage plus the peer address, which every refusal logs.
public struct RookeryRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
