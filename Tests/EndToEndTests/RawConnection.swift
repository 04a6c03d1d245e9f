import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection to a server made by hand, for attacks no HTTP client makes: a request sent a
/// byte at a time, an answer never read, more connections than allowed. Closed when released.
final class RawConnection: Sendable {
    private let fd: Int32
    /// When the connection was established.
    let opened: Date

    /// Connects to 127.0.0.1:`port` from `source` (any 127.x.y.z: all of 127/8 is this host's
    /// loopback, so a test can play several clients). `receiveBuffer`: a small socket receive
    /// buffer, so that an answer not read fills the path quickly.
    init(port: Int, from source: String = "127.0.0.1", receiveBuffer: Int32? = nil) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Self.failure("socket") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        do {
            var local = try Self.address(source, port: 0)
            guard
                withUnsafePointer(
                    to: &local,
                    {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                    }) == 0
            else { throw Self.failure("bind \(source)") }
            var remote = try Self.address("127.0.0.1", port: port)
            guard
                withUnsafePointer(
                    to: &remote,
                    {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                    }) == 0
            else { throw Self.failure("connect") }
        } catch {
            close(fd)
            throw error
        }
        self.fd = fd
        opened = Date()
    }

    deinit { close(fd) }

    /// Sends `bytes` without waiting; false if the server has closed the connection (or the
    /// socket cannot take them now).
    @discardableResult
    func send(_ bytes: String) -> Bool {
        let data = Array(bytes.utf8)
        return data.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) } == data.count
    }

    /// Whether the server has closed the connection by now: end of stream or reset. Whatever it
    /// sent before that is read and dropped.
    var isClosedByServer: Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let got = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if got > 0 { continue }
            return got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
        }
    }

    /// What the server has sent so far and not yet read, without waiting.
    func receivedSoFar() -> Data {
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let got = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            guard got > 0 else { return received }
            received.append(contentsOf: buffer[0..<got])
        }
    }

    /// Waits until the server closes the connection, up to `seconds` after it was opened;
    /// returns when that happened, in seconds after opening, or nil if it is still open.
    func closedByServer(withinSecondsOfOpening seconds: TimeInterval) -> TimeInterval? {
        while Date().timeIntervalSince(opened) < seconds {
            if isClosedByServer { return Date().timeIntervalSince(opened) }
            usleep(10_000)
        }
        return nil
    }

    /// Everything the server sends until it closes the connection (or `seconds` pass).
    func readToEnd(seconds: TimeInterval) -> Data {
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let got = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if got > 0 {
                received.append(contentsOf: buffer[0..<got])
                continue
            }
            if got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) { break }
            usleep(5_000)
        }
        return received
    }

    /// The status line and headers of the server's next answer, once they have all arrived;
    /// nil if they have not within `seconds`.
    func answerHead(within seconds: TimeInterval) -> String? {
        var received = Data()
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            received += receivedSoFar()
            let text = String(decoding: received, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") { return String(text[..<end.lowerBound]) }
            usleep(5_000)
        }
        return nil
    }

    private static func address(_ text: String, port: Int) throws -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, text, &address.sin_addr) == 1 else { throw failure("address \(text)") }
        return address
    }

    private static func failure(_ what: String) -> Error {
        NSError(domain: "RawConnection", code: Int(errno), userInfo: [NSLocalizedDescriptionKey: "\(what): \(String(cString: strerror(errno)))"])
    }
}

/// The server's side of its TCP connections, read from /proc: the sockets its process holds
/// open, and where they lead. What the server really has open, whatever its clients believe.
enum ServerSockets {
    /// The connections the process `pid` holds open on its local port `port`, from `peer` (an
    /// IPv4 address; nil: from anywhere), as their sockets' inode numbers. Listening sockets are
    /// not counted.
    static func connections(pid: Int32, port: Int, from peer: String? = nil) -> Set<String> {
        let held = socketInodes(of: pid)
        // Read to the end: /proc files claim to be empty, and a reader that trusts their size stops early.
        let table = FileHandle(forReadingAtPath: "/proc/net/tcp")?.readDataToEndOfFile() ?? Data()
        let rows = String(decoding: table, as: UTF8.self).split(separator: "\n").dropFirst()
        return Set(
            rows.compactMap { row -> String? in
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
                let fields = row.split(separator: " ")
                guard fields.count > 9, held.contains(String(fields[9])), fields[3] != "0A" else { return nil }
                let local = fields[1].split(separator: ":")
                let remote = fields[2].split(separator: ":")
                guard local.count == 2, Int(local[1], radix: 16) == port else { return nil }
                return peer == nil || dottedQuad(String(remote[0])) == peer ? String(fields[9]) : nil
            })
    }

    /// Whether the process `pid` has the file `path` open.
    static func hasOpen(pid: Int32, path: String) -> Bool {
        descriptorTargets(of: pid).contains(path)
    }

    private static func socketInodes(of pid: Int32) -> Set<String> {
        Set(
            descriptorTargets(of: pid).compactMap { target in
                target.hasPrefix("socket:[") ? String(target.dropFirst(8).dropLast()) : nil
            })
    }

    private static func descriptorTargets(of pid: Int32) -> [String] {
        let directory = "/proc/\(pid)/fd"
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + $0)
        }
    }

    /// /proc/net/tcp writes an IPv4 address as the hex of its 32-bit value in host (little-endian) order.
    private static func dottedQuad(_ hex: String) -> String? {
        guard let value = UInt32(hex, radix: 16) else { return nil }
        return (0..<4).map { String((value >> (8 * $0)) & 0xFF) }.joined(separator: ".")
    }
}
