import FoundationEssentials
import RookeryCore

/// The client's log: `var/client/client.log`, one line per event. Warnings also go to stderr when
/// a person ran the command (cron runs stay quiet so they do not mail every minute).
public struct ClientLog: Sendable {
    public let path: String
    public let echoWarnings: Bool

    public init(path: String, echoWarnings: Bool) {
        self.path = path
        self.echoWarnings = echoWarnings
    }

    public func info(_ message: String) { write("info", message) }

    public func warning(_ message: String) {
        write("warning", message)
        if echoWarnings { StandardStream.error.write("warning: \(message)\n") }
    }

    /// Past this size the log moves to client.log.1 (replacing the previous one), so a device
    /// never fills its disk with Rookery's log.
    static let maxBytes = 1024 * 1024

    private func write(_ level: String, _ message: String) {
        var line = "\(RFC3339.string(from: Date())) \(level) \(message)\n"
        _ = line.withUTF8 { LogFile(path: path, maxBytes: Self.maxBytes).append(UnsafeRawBufferPointer($0)) }
    }
}
