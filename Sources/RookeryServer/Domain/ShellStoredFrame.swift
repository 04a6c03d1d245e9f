import Foundation

/// A frame waiting in the store, with its sequence number in its direction (1, 2, ...).
public struct ShellStoredFrame: Sendable, Equatable {
    public var seq: Int64
    /// `ShellFrame.encoded`, as the sender gave it: the server cannot open it.
    public var frame: Data

    public init(seq: Int64, frame: Data) {
        self.seq = seq
        self.frame = frame
    }
}
