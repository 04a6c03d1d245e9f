import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM, as systemd and a rolling restart send it, to the real server: it stops accepting at
/// once, lets a request in flight finish, exits; and one that never finishes does not hold it
/// past `shutdown_grace_seconds`.
@Suite struct ShutdownEndToEndTests {
    /// A POST whose body is half sent: the request is in flight.
    static func halfSentRequest(port: Int) throws -> (RawConnection, rest: String) {
        let body = String(repeating: "x", count: 100)
        let connection = try RawConnection(port: port)
        connection.send("POST /rookery/v1/submit HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n" + body.prefix(50))
        return (connection, String(body.dropFirst(50)))
    }

    @Test func aRequestInFlightFinishesAfterSIGTERMAndNoNewConnectionIsTaken() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess.started(in: sandbox)
        let (connection, rest) = try Self.halfSentRequest(port: server.port)
        usleep(200_000)
        kill(server.pid, SIGTERM)
        #expect(
            SlowPeerAttackTests.waitFor(seconds: 5) { (try? RawConnection(port: server.port)) == nil },
            "a new connection was still taken after SIGTERM")
        // The request in flight is read to its end and answered (400: its body is no JSON).
        connection.send(rest)
        let head = connection.answerHead(within: 10)
        #expect(head?.hasPrefix("HTTP/1.1 400") == true, "\(head ?? "no answer")")
        #expect(server.terminate(within: 10), "the server did not exit after its last request")
        #expect(server.exitStatus == 0)
    }

    @Test func aRequestThatNeverFinishesHoldsTheServerNoLongerThanTheGrace() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        try sandbox.write("listen_host: 127.0.0.1\nlisten_port: 0\nshutdown_grace_seconds: 1\n", to: "srv/server/settings.yml")
        try server.start()
        let (connection, _) = try Self.halfSentRequest(port: server.port)
        usleep(200_000)
        let asked = Date()
        // Without the bound it would wait for request_timeout (30 s) to cut the connection.
        #expect(server.terminate(within: 15), "the server still ran 15 s after SIGTERM")
        #expect(Date().timeIntervalSince(asked) < 15)
        #expect(server.exitStatus == 0, "a shutdown that cut a request is still a clean one")
        let log = try String(contentsOfFile: server.logFile, encoding: .utf8)
        #expect(!log.contains("Fatal error"), "\(log)")
        withExtendedLifetime(connection) {}
    }

    /// With several ports, every one stops accepting at once: a request still in flight on the
    /// last port does not keep the first one taking new connections.
    @Test func everyPortStopsAcceptingAtOnce() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        let ports = [try PortsEndToEndTests.freePort(), try PortsEndToEndTests.freePort()].sorted()
        try sandbox.write("listen_host: 127.0.0.1\nlisten_port: \(ports[0])\n", to: "srv/server/settings.yml")
        let added = try server.admin(["configure-ports", "add", "\(ports[1])"])
        try #require(added.status == 0, "\(added.stderr)")
        server.onSettingsPorts = true
        try server.start()
        // start() returns once the first port listens; the second may take a moment more.
        try #require(
            SlowPeerAttackTests.waitFor(seconds: 10) { (try? RawConnection(port: ports[1])) != nil },
            "port \(ports[1]) never listened")
        let (held, rest) = try Self.halfSentRequest(port: ports[1])
        usleep(200_000)
        kill(server.pid, SIGTERM)
        #expect(
            SlowPeerAttackTests.waitFor(seconds: 5) { (try? RawConnection(port: ports[0])) == nil },
            "port \(ports[0]) still took connections while a request on port \(ports[1]) was in flight")
        held.send(rest)
        #expect(held.answerHead(within: 10)?.hasPrefix("HTTP/1.1 400") == true)
        #expect(server.terminate(within: 10))
    }
}
