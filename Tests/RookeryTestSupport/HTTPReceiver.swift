import Foundation

/// One HTTP request as the receiver read it.
public struct ReceivedRequest: Sendable, Equatable {
    public let method: String
    /// The request target as sent, e.g. "/hooks/audit?x=1".
    public let path: String
    /// Header names in lower case; a repeated header keeps its last value.
    public let headers: [String: String]
    public let body: Data
}

/// A real, minimal HTTP/1.1 server on 127.0.0.1 for webhook tests: one request per connection,
/// body read by Content-Length, answered with `status` and `Connection: close`.
///
/// Like SMTPListener, every connection has its own thread, an idle one is dropped after
/// `idleTimeout`, and `stop()` (or deinit) ends them all.
public final class HTTPReceiver: Sendable {
    public var port: Int { server.port }
    public var url: String { "http://127.0.0.1:\(port)/" }
    private let server: LoopbackServer
    private let inbox = Recorder<ReceivedRequest>()

    public convenience init(status: Int = 204, responseBody: Data = Data(), idleTimeout: TimeInterval = 10) throws {
        try self.init(idleTimeout: idleTimeout) { _ in ReceiverReply(status: status, body: responseBody) }
    }

    /// Answers each request with what `respond` makes of it (an answer that depends on the
    /// request, such as one signed over the request's nonce).
    public init(idleTimeout: TimeInterval = 10, respond: @escaping @Sendable (ReceivedRequest) -> ReceiverReply) throws {
        let inbox = self.inbox
        let answer = HTTPAnswer(respond: respond)
        server = try LoopbackServer(idleTimeout: idleTimeout) { connection in
            answer.serve(connection, recordingIn: inbox)
        }
    }

    deinit { server.stop() }

    public var requests: [ReceivedRequest] { inbox.items }

    public var connectionCount: Int { server.connectionCount }

    /// The requests once there are at least `count`, or whatever arrived when `timeout` ran out.
    public func waitForRequests(count: Int, timeout: TimeInterval = 5) -> [ReceivedRequest] {
        inbox.wait(for: count, timeout: timeout)
    }

    /// Closes the socket and waits for every connection's thread to finish.
    public func stop() { server.stop() }
}

/// What the receiver sends back: a status, extra headers (lower-case names) and a body.
public struct ReceiverReply: Sendable {
    public let status: Int
    public let headers: [String: String]
    public let body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Reads one request from a connection and gives the configured answer.
private struct HTTPAnswer: Sendable {
    let respond: @Sendable (ReceivedRequest) -> ReceiverReply
    private static let maximumHeaders = 100
    private static let maximumBody = 64 * 1024 * 1024

    func serve(_ connection: LineConnection, recordingIn inbox: Recorder<ReceivedRequest>) {
        guard let request = read(connection) else {
            _ = connection.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        }
        inbox.append(request)
        let response = respond(request)
        let extra = response.headers.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)\r\n" }.joined()
        let head =
            "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n\(extra)"
            + "Content-Length: \(response.body.count)\r\nConnection: close\r\n\r\n"
        _ = connection.write(Array(head.utf8) + response.body)
    }

    private func read(_ connection: LineConnection) -> ReceivedRequest? {
        guard let requestLine = connection.readLine() else { return nil }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1."), let headers = readHeaders(connection) else { return nil }
        if headers["expect"]?.lowercased() == "100-continue" {
            guard connection.write("HTTP/1.1 100 Continue\r\n\r\n") else { return nil }
        }
        let length = headers["content-length"].map { Int($0) } ?? 0
        guard let length, (0...Self.maximumBody).contains(length), let body = connection.readBytes(length) else { return nil }
        return ReceivedRequest(method: String(parts[0]), path: String(parts[1]), headers: headers, body: Data(body))
    }

    private func readHeaders(_ connection: LineConnection) -> [String: String]? {
        var headers: [String: String] = [:]
        for _ in 0...Self.maximumHeaders {
            guard let line = connection.readLine() else { return nil }
            if line.isEmpty { return headers }
            guard let colon = line.firstIndex(of: ":") else { return nil }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    private static func reason(_ status: Int) -> String {
        [
            200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable"
        ][status] ?? "Status"
    }
}
