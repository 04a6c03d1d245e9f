import HummingbirdCore
import Logging
import NIOCore

/// What every connection, on every port of the process, is held to: the caps on open connections
/// (one count for the whole process) and the deadlines for slow peers. `rookery server` makes one
/// and gives it to each port's application.
public final class ConnectionPolicy: Sendable {
    private let limits: EdgeLimits
    private let limiter: ConnectionLimiter
    private let log: ThrottledLog

    public init(limits: EdgeLimits, logger: Logger) {
        self.limits = limits
        limiter = ConnectionLimiter(limits: limits)
        log = ThrottledLog(logger: logger)
    }

    /// A new connection's handlers, which sit after the HTTP decoder. Admission comes first, so
    /// a refused connection starts no clock.
    func channelHandlers() -> [any RemovableChannelHandler] {
        [
            ConnectionAdmission(limiter: limiter, log: log),
            RequestDeadline(seconds: limits.requestTimeout, log: log),
            ResponseDeadline(seconds: limits.responseTimeout, log: log),
            PeerHangUps.Watch()
        ]
    }
}
