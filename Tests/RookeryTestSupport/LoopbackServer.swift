import Foundation
import RookeryCore

#if canImport(Glibc)
import Glibc
#endif

// Shared by SMTPListener and HTTPReceiver.

/// A TCP server on 127.0.0.1, ephemeral port, that hands each connection to `handle` on its own thread.
final class LoopbackServer: Sendable {
    let port: Int
    private let socket: Int32
    private let idleTimeout: TimeInterval
    private let handle: @Sendable (LineConnection) -> Void
    private let stopping = Locked(false)
    private let connections = Locked(0)
    private let acceptorDone = DispatchSemaphore(value: 0)
    private let handlers = DispatchGroup()

    init(idleTimeout: TimeInterval, handle: @escaping @Sendable (LineConnection) -> Void) throws {
        self.idleTimeout = idleTimeout
        self.handle = handle
        // CLOEXEC: tests also start child processes, which must not keep the port open.
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard socket >= 0 else { throw ListenerError("socket: \(String(cString: strerror(errno)))") }
        do {
            port = try Self.bindLoopback(socket)
        } catch {
            close(socket)
            throw error
        }
        Thread { [self] in acceptLoop() }.start()
    }

    var connectionCount: Int { connections.current }

    var isStopping: Bool { stopping.current }

    /// Idempotent. The accept loop and every connection look at `isStopping` at least every 50 ms.
    func stop() {
        let first = stopping.withLock { stopping in
            defer { stopping = true }
            return !stopping
        }
        guard first else { return }
        acceptorDone.wait()
        handlers.wait()
        close(socket)
    }

    private static func bindLoopback(_ socket: Int32) throws -> Int {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(socket, generic, length) == 0 && listen(socket, 16) == 0 && getsockname(socket, generic, &length) == 0
            }
        }
        guard bound else { throw ListenerError("bind 127.0.0.1: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    private func acceptLoop() {
        defer { acceptorDone.signal() }
        while !isStopping {
            var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 50) > 0 else { continue }
            let client = accept(socket, nil, nil)
            guard client >= 0 else { continue }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            connections.withLock { $0 += 1 }
            handlers.enter()
            Thread { [self] in
                defer {
                    close(client)
                    handlers.leave()
                }
                handle(LineConnection(socket: client, idleTimeout: idleTimeout) { self.isStopping })
            }.start()
        }
    }
}

/// A connected socket read as lines or counted bytes, giving up when the peer is idle too long
/// or the server stops.
final class LineConnection {
    private let socket: Int32
    private let idleTimeout: TimeInterval
    private let isStopping: () -> Bool
    private var buffer: [UInt8] = []
    /// A longer line is garbage, not a protocol line.
    private let maximumLine = 1024 * 1024

    init(socket: Int32, idleTimeout: TimeInterval, isStopping: @escaping () -> Bool) {
        self.socket = socket
        self.idleTimeout = idleTimeout
        self.isStopping = isStopping
    }

    /// The next line without its LF or CRLF; nil at end of input, on timeout or when stopping.
    func readLine() -> String? {
        while true {
            if let end = buffer.firstIndex(of: 0x0A) {
                var line = buffer[..<end]
                if line.last == 0x0D { line = line.dropLast() }
                let text = String(decoding: line, as: UTF8.self)
                buffer.removeFirst(end + 1)
                return text
            }
            guard buffer.count <= maximumLine, fill() else { return nil }
        }
    }

    func readBytes(_ count: Int) -> [UInt8]? {
        while buffer.count < count {
            guard fill() else { return nil }
        }
        defer { buffer.removeFirst(count) }
        return Array(buffer.prefix(count))
    }

    func write(_ text: String) -> Bool { write(Array(text.utf8)) }

    func write(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            // MSG_NOSIGNAL: a client that hung up must not kill the test process with SIGPIPE.
            let count = bytes[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            sent += count
        }
        return true
    }

    /// Waits, in short slices so that `stop()` is noticed, for more bytes.
    private func fill() -> Bool {
        let deadline = Date().addingTimeInterval(idleTimeout)
        while !isStopping(), Date() < deadline {
            var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 50)
            if ready < 0 && errno != EINTR { return false }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 16384)
            let count = recv(socket, &chunk, chunk.count, 0)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            buffer += chunk[..<count]
            return true
        }
        return false
    }
}

/// Items recorded by server threads, read and awaited by the test.
final class Recorder<Item: Sendable>: Sendable {
    private let recorded = Locked<[Item]>([])
    /// Signalled on every append, for `wait`; appends happen under it, so none is missed.
    private let appended = NSCondition()

    var items: [Item] { recorded.current }

    func append(_ item: Item) {
        appended.withLock {
            recorded.withLock { $0.append(item) }
            appended.broadcast()
        }
    }

    func wait(for count: Int, timeout: TimeInterval) -> [Item] {
        let deadline = Date().addingTimeInterval(timeout)
        return appended.withLock {
            while recorded.current.count < count, appended.wait(until: deadline) {}
            return recorded.current
        }
    }
}

struct ListenerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
