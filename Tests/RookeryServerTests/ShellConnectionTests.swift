import Foundation
import HummingbirdTesting
import RookeryCore
import Testing

@testable import RookeryServer

#if canImport(Glibc)
import Glibc
#endif

/// Long polls over real HTTP: a poll or a receive whose caller hung up stops waiting, rather
/// than holding its place (and the device's one poll per process) for its whole wait.
@Suite struct ShellConnectionTests {
    typealias S = ShellTestServer
    let sandbox: Sandbox
    let context: ServerContext
    let alice: TestDevice

    init() async throws {
        sandbox = try Sandbox()
        context = try await S.context(sandbox) { $0.agentPollSeconds = 60 }
        alice = try TestDevice(sandbox, name: "alice")
        _ = try context.signingKey()
    }

    /// Sends `head` and `body` on a new connection to 127.0.0.1:`port`, made by hand: an HTTP
    /// client that hangs up before its answer.
    static func send(port: Int, head: String, body: Data) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        let bytes = Array(head.replacingOccurrences(of: "\n", with: "\r\n").utf8) + Array(body)
        guard bytes.withUnsafeBytes({ Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            close(fd)
            throw POSIXError(.EPIPE)
        }
        return fd
    }

    /// Waits up to `seconds` for `condition`; the time it took, or nil.
    static func waitFor(seconds: Double, _ condition: () -> Bool) async throws -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            if condition() { return Date().timeIntervalSince(start) }
            try await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    @Test func aPollEndsWhenTheAgentHangsUp() async throws {
        let app = try buildApplication(context: context, logger: quietLogger)
        try await app.test(.live) { client in
            try await enrollAndAccept([alice], in: context, through: client)
            let request = try alice.sign(.poll, ["release": .integer(0), "patch": .integer(0)])
            let fd = try Self.send(
                port: try #require(client.port),
                head: """
                    POST /rookery/v1/poll HTTP/1.1
                    Host: 127.0.0.1
                    Content-Type: application/json
                    Content-Length: \(request.body.count)
                    \(WireProtocol.signatureHeader): \(request.signatureHeaderValue)


                    """, body: request.body)
            let polls = { context.shell.newestPolls.withLock { $0.count } }
            #expect(try await Self.waitFor(seconds: 5) { polls() == 1 } != nil, "the poll waits")
            close(fd)
            let ended = try await Self.waitFor(seconds: 40) { polls() == 0 }
            #expect(ended != nil, "ended about a second after the hang-up, not after 60 s")
        }
    }

    @Test func aReceiveEndsWhenTheAdminHangsUp() async throws {
        let app = try buildApplication(context: context, logger: quietLogger)
        try await app.test(.live) { client in
            try await enrollAndAccept([alice], in: context, through: client)
            let id = try await S.open(client, host: "alice")
            _ = try await S.accept(client, id, by: alice)
            let key = ShellWaiters.frames(id, .deviceToAdmin)
            let fd = try Self.send(
                port: try #require(client.port),
                head: """
                    POST /rookery/v1/shell/\(id)/receive?after=0 HTTP/1.1
                    Host: 127.0.0.1
                    Authorization: \(S.basic("alice"))
                    Content-Length: 0


                    """, body: Data())
            #expect(try await Self.waitFor(seconds: 5) { context.shell.waiters.isWaited(key) } != nil, "the receive waits")
            close(fd)
            let ended = try await Self.waitFor(seconds: 20) { !context.shell.waiters.isWaited(key) }
            #expect(ended != nil, "ended at its next look, not after 25 s")
        }
    }
}
