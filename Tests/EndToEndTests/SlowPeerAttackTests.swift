import Foundation
import RookeryCore
import Testing

/// Slow and greedy peers against a real `rookery server` (issue 13, item 5): a request trickled a
/// byte at a time, an answer never read, more connections than allowed. Each is cut off at its
/// stated limit, while the server's memory and CPU time stay small and a normal device's
/// submission sent during the attack is answered in under a second. Attackers connect from other
/// loopback addresses (127.0.0.2 and up) than the normal device (127.0.0.1), as they would from
/// other hosts.
@Suite(.serialized) struct SlowPeerAttackTests {
    /// What the server, with its signature-check helpers, may cost: resident memory at the end,
    /// and CPU time during the attack. Measured with a DEBUG build: about 85 MB resident (55 MB
    /// before the normal device's first submission started the helpers) and under 0.1 s of CPU.
    static let residentBound = 200 << 20
    static let cpuSecondsBound = 2.0

    @Test func aRequestTrickledAByteAtATimeIsCutOffAtTheRequestDeadline() throws {
        let deadline = 3.0
        let sandbox = try Sandbox()
        let server = try Self.startServer(sandbox, settings: "request_timeout: 3\n")
        let device = try NormalDevice(server: server, sandbox: sandbox)
        let before = ProcessTree.usage(of: server.pid)

        // Every peer sends a byte every 200 ms, so it is never idle, and its request never whole:
        // three trickle the head, three the body of a head sent whole.
        let head = "POST /rookery/v1/submit HTTP/1.1\r\nHost: rookery\r\nContent-Type: application/json\r\nX-Padding: "
        let trickles = try (0..<6).map { index in
            let connection = try RawConnection(port: server.port, from: "127.0.0.2")
            if index >= 3 {
                connection.send("POST /rookery/v1/submit HTTP/1.1\r\nHost: rookery\r\nContent-Length: 4000\r\n\r\n")
            }
            return (connection, bytes: index >= 3 ? Array(repeating: "x", count: 100) : head.map(String.init))
        }
        let trickle = Trickle(trickles, every: 0.2, for: deadline + 5)
        usleep(1_500_000)
        let answered = try device.submit()
        let (closedAfter, sent) = trickle.result()

        // Cut off at the deadline (3 s), not before, and within 2.5 s of it.
        for closed in closedAfter {
            let closed = try #require(closed, "a trickling peer was still connected after \(deadline + 5) s")
            #expect(closed >= deadline - 0.1 && closed <= deadline + 2.5, "closed after \(closed) s")
        }
        #expect(sent >= 14, "the peers kept trickling until the deadline was near")
        #expect(answered.status == 200 && answered.seconds < 1, "normal device: \(answered)")
        Self.expectBounded(server, since: before)
    }

    @Test func aPeerWhoseRequestsArriveInTimeKeepsItsConnectionUntilItFallsSilent() throws {
        let deadline = 3.0
        let sandbox = try Sandbox()
        let server = try Self.startServer(sandbox, settings: "request_timeout: 3\n")
        let peer = try RawConnection(port: server.port)
        // Three requests 2 s apart, 6 s in all: each has its own deadline from the answer before.
        var lastAsked = Date()
        for _ in 0..<3 {
            lastAsked = Date()
            peer.send("GET /rookery/v1/download_release HTTP/1.1\r\nHost: rookery\r\n\r\n")
            usleep(500_000)
            let answer = peer.receivedSoFar()
            #expect(answer.starts(with: Data("HTTP/1.1 403".utf8)), "\(String(decoding: answer, as: UTF8.self))")
            usleep(1_500_000)
        }
        // Then silent: closed at the deadline after the last answer (which came at once).
        let closed = try #require(peer.closedByServer(withinSecondsOfOpening: Date().timeIntervalSince(peer.opened) + deadline))
        let silentFor = peer.opened.addingTimeInterval(closed).timeIntervalSince(lastAsked)
        #expect(silentFor >= deadline - 0.1 && silentFor <= deadline + 1, "closed after \(silentFor) s of silence")
    }

    @Test func anAnswerThePeerDoesNotReadIsAbandonedAtTheResponseDeadline() throws {
        let deadline = 3.0
        let sandbox = try Sandbox()
        let server = try Self.startServer(sandbox, settings: "release_download: true\nresponse_timeout: 3\n")
        let tarball = try Self.publishLargeRelease(server, bytes: 16 << 20)
        let device = try NormalDevice(server: server, sandbox: sandbox)
        let before = ProcessTree.usage(of: server.pid)

        // Three peers with small receive buffers ask for the release and never read a byte.
        let peers = try (0..<3).map { _ in try RawConnection(port: server.port, from: "127.0.0.2", receiveBuffer: 4096) }
        for peer in peers { peer.send("GET /rookery/v1/download_release HTTP/1.1\r\nHost: rookery\r\n\r\n") }
        let asked = Date()
        #expect(
            Self.waitFor(seconds: 2) { ServerSockets.hasOpen(pid: server.pid, path: tarball) },
            "the server never began sending the release")
        let answered = try device.submit()

        // The server lets go of the connections (its sockets and the open tarball) at the
        // deadline (3 s after its writes stalled, which is at once) and within 4 s of it.
        #expect(
            Self.waitFor(seconds: deadline + 6) {
                ServerSockets.connections(pid: server.pid, port: server.port, from: "127.0.0.2").isEmpty
            }, "the server still holds connections whose answers nobody reads")
        let released = Date().timeIntervalSince(asked)
        #expect(released >= deadline - 0.1 && released <= deadline + 4, "released after \(released) s")
        #expect(
            Self.waitFor(seconds: 1) { !ServerSockets.hasOpen(pid: server.pid, path: tarball) },
            "the server still has the release open")

        // What each peer got was the start of the answer, then the end of the connection.
        for peer in peers {
            let received = peer.readToEnd(seconds: 10)
            #expect(received.starts(with: Data("HTTP/1.1 200".utf8)))
            #expect(received.count < 16 << 20, "the whole release arrived: the answer was not abandoned")
        }
        #expect(answered.status == 200 && answered.seconds < 1, "normal device: \(answered)")
        Self.expectBounded(server, since: before)
    }

    @Test func connectionsPastThePerAddressCapAreClosedAtOnceOnEveryPort() throws {
        let cap = 8
        let sandbox = try Sandbox()
        let (server, secondPort) = try Self.startServerOnTwoPorts(sandbox, settings: "max_connections_per_address: \(cap)\n")
        let device = try NormalDevice(server: server, sandbox: sandbox)
        let before = ProcessTree.usage(of: server.pid)
        let ports = [server.port, secondPort]
        let peak = ConnectionPeak(server: server, ports: ports, from: "127.0.0.2")

        // The cap is reached half on each port; then 40 more, on both ports, are closed at once.
        let held = try (0..<cap).map { try RawConnection(port: ports[$0 % 2], from: "127.0.0.2") }
        #expect(Self.waitFor(seconds: 2) { ports.map { ServerSockets.connections(pid: server.pid, port: $0, from: "127.0.0.2").count }.reduce(0, +) == cap })
        let extra = try (0..<40).map { try RawConnection(port: ports[$0 % 2], from: "127.0.0.2") }
        let answered = try device.submit()
        for connection in extra {
            #expect(connection.closedByServer(withinSecondsOfOpening: 1) != nil, "a connection past the cap was kept open")
        }
        #expect(held.allSatisfy { !$0.isClosedByServer }, "a connection within the cap was closed")

        #expect(peak.stop() == cap, "the server held more connections from one address than the cap, or fewer")
        #expect(answered.status == 200 && answered.seconds < 1, "normal device: \(answered)")
        // Logged once, not once per refusal: the other 39 fall within the 10 s throttle.
        let refusals = try Self.logLines(server, containing: "refused a connection from 127.0.0.2")
        #expect(refusals.count == 1 && refusals[0].contains("max_connections_per_address"), "\(refusals)")
        Self.expectBounded(server, since: before)
    }

    @Test func connectionsPastTheTotalCapAreClosedAtOnceUntilOneCloses() throws {
        let cap = 12
        let sandbox = try Sandbox()
        let (server, secondPort) = try Self.startServerOnTwoPorts(
            sandbox, settings: "max_connections: \(cap)\nmax_connections_per_address: 100\n")
        let device = try NormalDevice(server: server, sandbox: sandbox)
        let before = ProcessTree.usage(of: server.pid)
        let ports = [server.port, secondPort]
        let openOnBothPorts = { ports.map { ServerSockets.connections(pid: server.pid, port: $0).count }.reduce(0, +) }
        #expect(Self.waitFor(seconds: 2) { openOnBothPorts() == 0 })
        let peak = ConnectionPeak(server: server, ports: ports)

        // Four addresses fill the cap over both ports; 20 more from two others are closed at once.
        var held: [RawConnection?] = try (0..<cap).map { try RawConnection(port: ports[$0 % 2], from: "127.0.0.\(2 + $0 % 4)") }
        #expect(Self.waitFor(seconds: 2) { openOnBothPorts() == cap })
        let extra = try (0..<20).map { try RawConnection(port: ports[$0 % 2], from: "127.0.0.\(6 + $0 % 2)") }
        for connection in extra {
            #expect(connection.closedByServer(withinSecondsOfOpening: 1) != nil, "a connection past the cap was kept open")
        }
        // A full server turns the normal device away at once too: a total cap cannot tell it
        // from an attacker (the per-address cap keeps one address from filling it).
        let turnedAway = try device.submit()
        #expect(turnedAway.status == 0 && turnedAway.seconds < 1, "normal device at the cap: \(turnedAway)")
        #expect(peak.stop() == cap, "the server held more connections than the cap, or fewer")

        // One attacker's connection closes; the next connection, the device's, gets its place.
        held[0] = nil
        #expect(Self.waitFor(seconds: 2) { openOnBothPorts() == cap - 1 })
        let answered = try device.submit()
        #expect(answered.status == 200 && answered.seconds < 1, "normal device: \(answered)")

        let refusals = try Self.logLines(server, containing: "refused a connection from")
        #expect(!refusals.isEmpty && refusals.allSatisfy { $0.contains("(max_connections)") }, "\(refusals)")
        #expect(held.compactMap { $0 }.allSatisfy { !$0.isClosedByServer }, "a connection within the cap was closed")
        Self.expectBounded(server, since: before)
    }

    @Test func onATLSPortConnectionsPastTheCapAreClosedBeforeTheHandshakeAndTheHandshakeIsTimed() throws {
        let (deadline, cap) = (3.0, 4)
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        let ports = [try PortsEndToEndTests.freePort(), try PortsEndToEndTests.freePort()].sorted()
        let (plain, tls) = (ports[0], ports[1])
        try sandbox.write("listen_host: 127.0.0.1\nlisten_port: \(plain)\n", to: "srv/server/settings.yml")
        let configured = try server.admin(["configure-ports", "add", "\(tls)", "--tls-self-signed", "127.0.0.1"])
        try #require(configured.status == 0, "\(configured.stderr)")
        let settings = try String(contentsOfFile: server.root + "/server/settings.yml", encoding: .utf8)
        try sandbox.write(settings + "request_timeout: 3\nmax_connections_per_address: \(cap)\n", to: "srv/server/settings.yml")
        server.onSettingsPorts = true
        try server.start()
        #expect(server.port == plain)
        let device = try NormalDevice(server: server, sandbox: sandbox)
        let before = ProcessTree.usage(of: server.pid)

        // Four peers trickle a TLS ClientHello, a byte every 200 ms; ten more, past the cap, are
        // closed at once, before the handshake could begin.
        // (A handshake record of 368 bytes announced; its first bytes, all below 0x80 to go as they are.)
        let clientHello =
            [0x16, 0x03, 0x01, 0x01, 0x70, 0x01, 0x00, 0x01, 0x6C, 0x03, 0x03].map { String(UnicodeScalar(UInt8($0))) }
            + Array(repeating: "\u{0}", count: 60)
        let held = try (0..<cap).map { _ in (try RawConnection(port: tls, from: "127.0.0.2"), bytes: clientHello) }
        let trickle = Trickle(held, every: 0.2, for: deadline + 5)
        #expect(Self.waitFor(seconds: 2) { ServerSockets.connections(pid: server.pid, port: tls, from: "127.0.0.2").count == cap })
        let extra = try (0..<10).map { _ in try RawConnection(port: tls, from: "127.0.0.2") }
        for connection in extra {
            #expect(connection.closedByServer(withinSecondsOfOpening: 1) != nil, "a connection past the cap was kept open")
        }
        let answered = try device.submit()

        // The handshake counts toward the request deadline (3 s), however steadily it trickles.
        let (closedAfter, _) = trickle.result()
        for closed in closedAfter {
            let closed = try #require(closed, "a peer trickling a handshake was still connected after \(deadline + 5) s")
            #expect(closed >= deadline - 0.1 && closed <= deadline + 2.5, "closed after \(closed) s")
        }
        #expect(answered.status == 200 && answered.seconds < 1, "normal device: \(answered)")
        Self.expectBounded(server, since: before)
    }

    @Test(arguments: [
        ("max_connections", "0"), ("max_connections_per_address", "-1"),
        ("request_timeout", "0"), ("response_timeout", "3601")
    ])
    func aLimitOutOfRangeStopsTheServerNamingIt(setting: String, value: String) throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        try sandbox.write("listen_host: 127.0.0.1\nlisten_port: 0\n\(setting): \(value)\n", to: "srv/server/settings.yml")
        #expect { try server.start() } throws: { "\($0)".contains("exited with status 64 before it listened") }
        let log = try String(contentsOfFile: server.logFile, encoding: .utf8)
        #expect(log.contains("\(setting): \(value) is out of range"), "\(log)")
    }

    @Test func theServerRaisesItsOpenFileLimitForMaxConnectionsOrSaysItCannot() throws {
        let sandbox = try Sandbox()
        _ = try ServerProcess(sandbox: sandbox)
        // Soft limit 1024 under a higher hard one (as systemd starts services): raised to
        // max_connections (1024 by default) plus 256 for everything else.
        let raised = try Self.serverUnder(limits: "ulimit -S -n 1024 && ulimit -H -n 4096", sandbox: sandbox)
        #expect(raised.openFiles == "1280", "\(raised)")
        #expect(!raised.log.contains("open files"), "\(raised.log)")
        // A hard limit too low for it: the server starts, and says what to do.
        let short = try Self.serverUnder(limits: "ulimit -n 800", sandbox: sandbox)
        #expect(short.openFiles == "800")
        #expect(
            short.log.contains(
                "max_connections 1024 needs about 1280 open files, but this process may open only 800: "
                    + "raise LimitNOFILE (systemd) or ulimit -n, or lower max_connections"), "\(short.log)")
    }

    // MARK: - Helpers

    /// Starts `rookery server` from a shell that first sets `limits`, and returns its soft limit
    /// on open files (from /proc) and its log once it listens; stops it again.
    static func serverUnder(limits: String, sandbox: Sandbox) throws -> (openFiles: String, log: String) {
        let (portFile, logFile) = (sandbox.path + "/port", sandbox.path + "/server.log")
        try? FileManager.default.removeItem(atPath: portFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [
            "-c", "\(limits) && exec \"$0\" server --port 0 --port-file \(portFile) 2> \(logFile)",
            binaryDirectory + "/rookery"
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["ROOKERY_HOME"] = sandbox.path + "/srv"
        process.environment = environment
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        try #require(
            waitFor(seconds: 30) { FileManager.default.fileExists(atPath: portFile) || !process.isRunning } && process.isRunning,
            "the server did not start: \((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "")")
        let limits = try String(contentsOfFile: "/proc/\(process.processIdentifier)/limits", encoding: .utf8)
        let openFiles =
            limits.split(separator: "\n").first { $0.hasPrefix("Max open files") }?
            .split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first.map(String.init) ?? ""
        return (openFiles, try String(contentsOfFile: logFile, encoding: .utf8))
    }

    static func startServer(_ sandbox: Sandbox, settings: String) throws -> ServerProcess {
        let server = try ServerProcess(sandbox: sandbox)
        try sandbox.write("listen_host: 127.0.0.1\nlisten_port: 0\n" + settings, to: "srv/server/settings.yml")
        try server.start()
        return server
    }

    /// A server listening on two ports (its `port` is the first): the caps count across both.
    static func startServerOnTwoPorts(_ sandbox: Sandbox, settings: String) throws -> (ServerProcess, Int) {
        let ports = (try PortsEndToEndTests.freePort(), try PortsEndToEndTests.freePort())
        let server = try ServerProcess(sandbox: sandbox)
        try sandbox.write("listen_host: 127.0.0.1\nport: [\(ports.0), \(ports.1)]\n" + settings, to: "srv/server/settings.yml")
        server.onSettingsPorts = true
        try server.start()
        return (server, ports.1)
    }

    /// Puts a release of `bytes` random bytes in the server's library, as `bin/client_release`
    /// leaves one (the record written last), without the minutes a real one that size takes to
    /// build; download_release sends the file as it is. Returns the tarball's path.
    static func publishLargeRelease(_ server: ServerProcess, bytes: Int) throws -> String {
        let directory = server.root + "/var/client_releases"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let tarball = try #require(FileHandle(forReadingAtPath: "/dev/urandom")).readData(ofLength: bytes)
        let path = directory + "/release-1.tar.gz"
        try tarball.write(to: URL(fileURLWithPath: path))
        let record: JSONValue = .object([
            "number": .integer(1), "created_at": .string(RFC3339.string(from: Date())), "size": .integer(Int64(bytes)),
            "sha256": .string(ReleaseManifest.sha256Hex(tarball)), "files": .integer(1)
        ])
        try record.serialized().write(to: URL(fileURLWithPath: directory + "/release-1.json"))
        return URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    }

    static func expectBounded(
        _ server: ServerProcess, since before: ProcessTree,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let after = ProcessTree.usage(of: server.pid)
        #expect(after.residentBytes < residentBound, "resident \(after.residentBytes >> 20) MB", sourceLocation: sourceLocation)
        #expect(
            after.cpuSeconds - before.cpuSeconds < cpuSecondsBound,
            "CPU \(after.cpuSeconds - before.cpuSeconds) s", sourceLocation: sourceLocation)
    }

    static func waitFor(seconds: TimeInterval, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    static func logLines(_ server: ServerProcess, containing text: String) throws -> [String] {
        try String(contentsOfFile: server.logFile, encoding: .utf8).split(separator: "\n").map(String.init)
            .filter { $0.contains(text) }
    }
}

/// Peers that each send the next of their bytes every `interval`, on a thread of their own, until
/// the server closes them or `limit` seconds pass; when the server closed each.
final class Trickle: Sendable {
    private let outcome = Locked<(closedAfter: [TimeInterval?], sent: Int)>(([], 0))
    private let done = DispatchSemaphore(value: 0)

    init(_ peers: [(RawConnection, bytes: [String])], every interval: TimeInterval, for limit: TimeInterval) {
        Thread.detachNewThread { [outcome, done] in
            let started = Date()
            var closedAfter = [TimeInterval?](repeating: nil, count: peers.count)
            var sent = 0
            while closedAfter.contains(where: { $0 == nil }), Date().timeIntervalSince(started) < limit {
                let due = Date().timeIntervalSince(started) >= Double(sent) * interval
                for (index, (connection, bytes)) in peers.enumerated() where closedAfter[index] == nil {
                    if connection.isClosedByServer {
                        closedAfter[index] = Date().timeIntervalSince(connection.opened)
                    } else if due, sent < bytes.count {
                        connection.send(bytes[sent])
                    }
                }
                if due { sent += 1 }
                usleep(10_000)
            }
            outcome.withLock { $0 = (closedAfter, sent) }
            done.signal()
        }
    }

    /// Waits for the end; when the server closed each peer (seconds after it connected), and how
    /// many bytes each peer sent (or tried to).
    func result() -> (closedAfter: [TimeInterval?], sent: Int) {
        done.wait()
        return outcome.current
    }
}

/// The most connections the server held at once while watched (sampled every 10 ms). Only sockets
/// the server kept for 250 ms or more count: one it refuses exists for the moment it takes to
/// close it, which is not holding it (the tests check separately that refusals are that quick).
final class ConnectionPeak: Sendable {
    private let highest = Locked(0)
    private let watching = Locked(true)
    private let stopped = DispatchSemaphore(value: 0)

    init(server: ServerProcess, ports: [Int], from peer: String? = nil) {
        let pid = server.pid
        Thread.detachNewThread { [highest, watching, stopped] in
            var firstSeen: [String: Date] = [:]
            while watching.current {
                let now = Date()
                let open = ports.reduce(into: Set<String>()) { $0.formUnion(ServerSockets.connections(pid: pid, port: $1, from: peer)) }
                firstSeen = firstSeen.filter { open.contains($0.key) }
                for socket in open where firstSeen[socket] == nil { firstSeen[socket] = now }
                let held = firstSeen.values.filter { now.timeIntervalSince($0) >= 0.25 }.count
                highest.withLock { $0 = max($0, held) }
                usleep(10_000)
            }
            stopped.signal()
        }
    }

    /// Stops watching; the peak seen.
    func stop() -> Int {
        usleep(300_000)  // so that the last connections opened have been held long enough to count
        watching.withLock { $0 = false }
        stopped.wait()
        return highest.current
    }
}
