import Foundation
import RookeryCore
import RookeryCurl
import RookeryServer

/// One HTTP/1.1 connection to the bench server, kept open from request to request, as a load
/// balancer or proxy in front of the server keeps its connections (`submit --keep-alive`).
/// Plain HTTP on 127.0.0.1 only; just enough HTTP for the server's own answers: a status line,
/// headers, and a body of `Content-Length` bytes.
final class KeptConnection {
    private let port: UInt16
    private var socket: Int32 = -1
    private var buffer: [UInt8] = []

    init(port: UInt16) { self.port = port }

    deinit { if socket >= 0 { close(socket) } }

    /// POSTs `request` to its endpoint; the answer's status and body. After an error the
    /// connection is dropped, and the next request makes a new one.
    func post(_ request: SignedRequest) throws -> HTTPReply {
        do {
            return try exchange(request)
        } catch {
            disconnect()
            throw error
        }
    }

    private func disconnect() {
        if socket >= 0 { close(socket) }
        socket = -1
        buffer = []
    }

    private func exchange(_ request: SignedRequest) throws -> HTTPReply {
        if socket < 0 { try connect() }
        let head =
            "POST \(WireProtocol.pathPrefix)\(request.endpoint.rawValue) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(request.body.count)\r\n"
            + "\(WireProtocol.signatureHeader): \(request.signatureHeaderValue)\r\n\r\n"
        try send(Array(head.utf8) + Array(request.body))
        let (status, closes, length) = try readHead()
        let body = try take(length)
        if closes { disconnect() }
        return HTTPReply(status: status, body: Data(body), headers: [:])
    }

    private func connect() throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw AdminError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw AdminError("connect to 127.0.0.1:\(port): \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw AdminError("send: \(String(cString: strerror(errno)))") }
            sent += written
        }
    }

    /// The status, whether the server closes the connection after this answer, and the body's length.
    private func readHead() throws -> (Int, Bool, Int) {
        var end: Int?
        while end == nil {
            end = buffer.indices.dropLast(3).first { buffer[$0] == 13 && buffer[$0 + 1] == 10 && buffer[$0 + 2] == 13 && buffer[$0 + 3] == 10 }
            if end == nil { try fill() }
        }
        let lines = String(decoding: buffer[..<end!], as: UTF8.self).split(separator: "\r\n")
        buffer.removeFirst(end! + 4)
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1.1 "),
            let status = Int(statusLine.dropFirst(9).prefix(3))
        else { throw AdminError("not an HTTP/1.1 answer") }
        var length = 0
        var closes = false
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard parts.count == 2 else { continue }
            if parts[0] == "content-length" { length = Int(parts[1]) ?? 0 }
            if parts[0] == "connection", parts[1] == "close" { closes = true }
        }
        return (status, closes, length)
    }

    private func take(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { try fill() }
        defer { buffer.removeFirst(count) }
        return Array(buffer[..<count])
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        let read = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard read > 0 else { throw AdminError(read == 0 ? "the server closed the connection" : "recv: \(String(cString: strerror(errno)))") }
        buffer += chunk[..<read]
    }
}
