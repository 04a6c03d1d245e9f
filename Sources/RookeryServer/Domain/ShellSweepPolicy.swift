import Foundation

/// What the server's sweep (every 10 s) closes and deletes.
public struct ShellSweepPolicy: Sendable, Equatable {
    /// `shell_idle_seconds`: a requested or open session with no frame either way this long.
    public var idleSeconds: Int
    /// `shell_open_seconds`: a session the device has not answered this long after it was opened.
    public var unansweredSeconds: Int
    /// Frames of a session closed this long ago are deleted: the other side had time to read them.
    public var keepClosedFramesSeconds: Int = 60
    /// Agent wake-ups older than this are deleted: every watcher has read them long before.
    public var keepWakeupsSeconds: Int = 600

    public init(idleSeconds: Int, unansweredSeconds: Int) {
        self.idleSeconds = idleSeconds
        self.unansweredSeconds = unansweredSeconds
    }

    public static func idleReason(_ seconds: Int) -> String { "idle for \(seconds) seconds" }
    public static func unansweredReason(_ seconds: Int) -> String { "the device did not answer within \(seconds) seconds" }
}

/// A session the sweep closed, and why.
public struct ShellSweepClosure: Sendable, Equatable {
    public var id: String
    public var fingerprint: String
    public var reason: String
}
