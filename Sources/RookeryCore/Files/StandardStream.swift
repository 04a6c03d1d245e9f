import FoundationEssentials

/// The process's stdout and stderr, written by descriptor (FoundationEssentials has no FileHandle).
public enum StandardStream: Int32 {
    case output = 1
    case error = 2

    /// Writes all of `data`; a closed or full stream loses it, as a FileHandle write would.
    public func write(_ data: Data) {
        _ = AtomicFile.writeAll(data, to: rawValue)
    }

    public func write(_ text: String) {
        write(Data(text.utf8))
    }
}
