import FoundationEssentials
import RookeryCore

#if canImport(Glibc)
import Glibc
#endif

/// Why a shell session's frame calls stopped.
public enum ShellLinkError: KindedError, Equatable {
    /// The session is over on the server (closed by the other side, the admin, the idle sweep).
    case gone(reason: String)
    /// The server could not be reached (or answered 5xx) for `seconds` in a row.
    case lost(seconds: Int, lastError: String)
    /// The server refused the call for good (a bad token, an admin who did not open it, ...).
    case refused(status: Int, message: String)
    /// The other side left its queue full this long: it no longer reads.
    case stalled(seconds: Int)

    public var kind: ErrorKind { .failed }

    public var description: String {
        switch self {
        case .gone(let reason): "the session ended: \(reason)"
        case .lost(let seconds, let lastError): "lost the server for \(seconds) s (\(lastError)); the session is over"
        case .refused(let status, let message): "the server refused the session's call (\(status)): \(message)"
        case .stalled(let seconds): "the other side has not read for \(seconds) s; the session is over"
        }
    }
}

/// One side's frame calls for one remote-shell session, over HTTP: `send` queues sealed frames for
/// the other side, `receive` long-polls for the other side's. The server relays the frames without
/// being able to read them; this type only moves bytes, the caller's `ShellChannel` seals and opens.
///
/// Calls are blocking (libcurl) and each makes its own connection, so one thread may send while
/// another waits in `receive`. A server that cannot be reached, or answers 5xx, is tried again with
/// backoff until `reconnectSeconds` have passed without an answer: a restart of the server is ridden
/// through, since the session lives in its database.
public struct ShellLink: Sendable {
    /// The calls' URLs up to the session: `BASE/rookery/v1/shell/ID/` (admin) or
    /// `BASE/rookery/v1/shell/ID/device/` (device).
    public let sessionURL: String
    /// Credentials: the admin's Authorization, or the device's shell token.
    public let headers: [String: String]
    public let caFile: String?
    public let reconnectSeconds: Int
    /// How long the server may hold a receive: its 25 s, with room for a slow answer.
    public static let receiveTimeoutSeconds = 40
    /// Frames per answer are bounded by the server (1 MiB waiting per direction).
    static let maxAnswerBytes = 2 << 20
    static let fullWait: Duration = .milliseconds(10)
    /// How long the other side may leave its queue full before this side gives up.
    static let maxFullSeconds = 120

    public init(
        serverURL: String, sessionID: String, side: ShellSide, headers: [String: String], caFile: String?,
        reconnectSeconds: Int
    ) {
        let base = serverURL.hasSuffix("/") ? String(serverURL.dropLast()) : serverURL
        let sideSegment = side == .device ? "device/" : ""
        sessionURL = base + WireProtocol.pathPrefix + "shell/\(sessionID)/" + sideSegment
        self.headers = headers
        self.caFile = caFile
        self.reconnectSeconds = reconnectSeconds
    }

    /// Queues `frames` for the other side, waiting while its queue is full. Returns the sequence
    /// number of the last frame stored. `first`: this side's number for the first frame (it counts
    /// the frames it sent, from 1), so that a batch sent again after a lost answer is stored once;
    /// a frame stored twice would look to the other side like a replay and end the session.
    @discardableResult
    public func send(_ frames: [ShellFrame], first: Int64? = nil) throws -> Int64 {
        var body = Data()
        for frame in frames { body.append(frame.encoded) }
        let reply = try call(first.map { "send?first=\($0)" } ?? "send", body: body, timeoutSeconds: 30)
        return (try? JSONValue.parse(reply.body))?["seq"]?.integerValue ?? 0
    }

    /// The other side's frames after `after`, waiting up to the server's hold when none is there;
    /// `last` is where the next call starts (`after` itself when nothing came).
    public func receive(after: Int64) throws -> (frames: [ShellFrame], last: Int64) {
        let reply = try call("receive?after=\(after)", body: Data(), timeoutSeconds: Self.receiveTimeoutSeconds)
        var decoder = ShellFrameDecoder(bufferLimit: Self.maxAnswerBytes)
        try decoder.append(reply.body)
        let frames = try decoder.nextFrames()
        try decoder.finish()
        let last = reply.headers[WireProtocol.shellLastSequenceHeader.lowercased()].flatMap { Int64($0) }
        guard let last, last >= after else {
            throw ShellLinkError.refused(status: reply.status, message: "the answer carries no valid \(WireProtocol.shellLastSequenceHeader)")
        }
        return (frames, last)
    }

    /// Ends the session on the server, saying why; the other side's next receive learns it.
    public func close(reason: String) throws {
        let body = JSONValue.object(["reason": .string(String(reason.prefix(1024)))]).serialized()
        _ = try call("close", body: body, timeoutSeconds: 10)
    }

    /// One call, tried again while the server is unreachable, busy or full.
    private func call(_ path: String, body: Data, timeoutSeconds: Int) throws -> HTTPReply {
        let started = ContinuousClock.now
        var delay: Duration = .milliseconds(50)
        var fullWait = Self.fullWait
        var fullSince: ContinuousClock.Instant?
        var lastError = ""
        while true {
            do {
                let reply = try HTTPTransport.post(
                    url: sessionURL + path, body: body, headers: headers, timeoutSeconds: timeoutSeconds,
                    maxResponseBytes: Self.maxAnswerBytes, caFile: caFile)
                switch reply.status {
                case 200: return reply
                case 410: throw ShellLinkError.gone(reason: Self.message(reply))
                case 429, 500...599:
                    lastError = "\(reply.status): \(Self.message(reply))"
                    if reply.status == 429 {
                        // Full is not lost: the other side reads, only slower than this one sends.
                        // Short waits, growing, keep a bulk transfer flowing without hammering the
                        // server; a side that has not read for `maxFullSeconds` is taken as gone.
                        let since = fullSince ?? .now
                        fullSince = since
                        guard ContinuousClock.now - since < .seconds(Self.maxFullSeconds) else {
                            throw ShellLinkError.stalled(seconds: Self.maxFullSeconds)
                        }
                        Self.sleep(fullWait)
                        fullWait = min(fullWait * 2, .milliseconds(500))
                        continue
                    }
                default: throw ShellLinkError.refused(status: reply.status, message: Self.message(reply))
                }
            } catch let failure as TransportError {
                lastError = failure.description
            }
            guard ContinuousClock.now - started < .seconds(reconnectSeconds) else {
                throw ShellLinkError.lost(seconds: reconnectSeconds, lastError: lastError)
            }
            Self.sleep(delay)
            delay = min(delay * 2, .seconds(2))
        }
    }

    static func message(_ reply: HTTPReply) -> String {
        let text = (try? JSONValue.parse(reply.body))?["message"]?.stringValue ?? String(decoding: reply.body.prefix(200), as: UTF8.self)
        return LogText.escaped(text, limit: 1024)
    }

    private static func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
