import FoundationEssentials

/// Splits a byte stream into shell frames: the stream may arrive in pieces of any size, holding
/// several frames or part of one. It reads a frame's length prefix, refuses one out of bounds at
/// once, and takes exactly that many bytes; the rest waits for the next frame.
public struct ShellFrameDecoder: Sendable {
    /// Enough for a few full frames; a reader that takes frames out as they come never nears it.
    public static let defaultBufferLimit = 16 * ShellFrame.maxEncodedCount

    public let bufferLimit: Int
    private var buffer: [UInt8] = []
    /// Where the unread bytes start: frames are taken from the front without moving the rest.
    private var readIndex = 0
    private var failure: ShellChannelError?

    public init(bufferLimit: Int = defaultBufferLimit) {
        self.bufferLimit = max(bufferLimit, ShellFrame.maxEncodedCount)
    }

    /// Bytes received and not yet returned in a frame.
    public var unreadCount: Int { buffer.count - readIndex }

    /// Adds bytes from the stream. Refuses them once more than `bufferLimit` would wait unread.
    public mutating func append(_ bytes: Data) throws {
        if let failure { throw failure }
        guard bytes.count <= bufferLimit - unreadCount else { return try fail(.bufferFull(limit: bufferLimit)) }
        buffer.removeFirst(readIndex)
        readIndex = 0
        buffer.append(contentsOf: bytes)
    }

    /// The next whole frame, or nil while its bytes have not all arrived.
    public mutating func nextFrame() throws -> ShellFrame? {
        if let failure { throw failure }
        guard unreadCount >= ShellFrame.headerCount else { return nil }
        let bodyStart = readIndex + ShellFrame.headerCount
        let sealedCount: Int
        do {
            sealedCount = try ShellFrame.sealedCount(header: buffer[readIndex..<bodyStart])
        } catch let error as ShellChannelError {
            return try fail(error)
        }
        guard buffer.count - bodyStart >= sealedCount else { return nil }
        let end = bodyStart + sealedCount
        let frame = try ShellFrame(encoded: Data(buffer[readIndex..<end]))
        readIndex = end
        return frame
    }

    /// Every whole frame now buffered, in order.
    public mutating func nextFrames() throws -> [ShellFrame] {
        var frames: [ShellFrame] = []
        while let frame = try nextFrame() { frames.append(frame) }
        return frames
    }

    /// Says whether the stream ended between frames; a partial frame at the end was cut.
    public func finish() throws {
        if let failure { throw failure }
        guard unreadCount == 0 else { throw ShellChannelError.streamCut(unreadCount: unreadCount) }
    }

    private mutating func fail<T>(_ error: ShellChannelError) throws -> T {
        failure = error
        buffer = []
        readIndex = 0
        throw error
    }
}
