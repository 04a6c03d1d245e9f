import Foundation
import RookeryCore

/// Hands each enrollment check to `rookery enroll-check` behind a Unix socket: systemd's
/// `rookery-enroll-check.socket` starts one per connection as a user of its own (DynamicUser),
/// which a server that is not root could not do itself. Same frames as `EnrollmentCheckProcess`.
public struct EnrollmentCheckSocket: EnrollmentChecking {
    let path: String

    public init(path: String) { self.path = path }

    public func check(_ request: EnrollmentCheckRequest) throws -> EnrollmentCheckResult {
        let socket = try connect()
        let connection = FileHandle(fileDescriptor: socket, closeOnDealloc: true)
        do {
            try connection.write(contentsOf: EnrollmentCheckFrames.request(request))
            shutdown(socket, Int32(SHUT_WR))
            return try EnrollmentCheckFrames.readResponse(from: connection)
        } catch let refusal as OpenPGPError {
            throw refusal
        } catch {
            // No answer: the checker could not start, was cut off at a deadline, or systemd
            // refused the connection. The enrollment fails closed (500); the device tries again.
            throw EnrollmentCheckFailed("the enrollment checker at \(path) gave no answer: \(error)")
        }
    }

    private func connect() throws -> Int32 {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw EnrollmentCheckFailed("cannot make a socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            close(fd)
            throw EnrollmentCheckFailed("enrollment check socket path \(path) is longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        var timeout = timeval(tv_sec: EnrollmentCheckProcess.timeout + 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw EnrollmentCheckFailed("cannot reach the enrollment checker at \(path): \(reason) (is rookery-enroll-check.socket running?)")
        }
        return fd
    }
}
