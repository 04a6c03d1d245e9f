import Foundation
import RookeryCore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One `rookery server` on two ports, one deprecated: a device on the deprecated port gets the
/// deprecated-port issue, which closes once it reports on the other.
@Suite struct PortsEndToEndTests {
    @Test func aDeviceOnADeprecatedPortHasAnIssueUntilItMoves() throws {
        let sandbox = try Sandbox()
        let (current, old) = (try Self.freePort(), try Self.freePort())
        let root = sandbox.path + "/srv"
        try sandbox.write(
            """
            listen_host: 127.0.0.1
            port:
              \(current): {}
              \(old):
                deprecated: true

            """, to: "srv/server/settings.yml")
        try sandbox.write(
            """
            checks:
              - name: deprecated-port
                description: The device uses a port that is being retired
                computed: deprecated-port
            """, to: "srv/server/issues.yml")
        let server = try Self.startServer(root: root, ports: [current, old])
        defer {
            server.terminate()
            server.waitUntilExit()
        }

        var laptop = try ClientRoot(sandbox: sandbox, name: "laptop", serverURL: "http://127.0.0.1:\(old)")
        #expect(try laptop.run("enroll").status == 0)
        #expect(try runBinary("rookery", ["clients", "accept", "laptop"], root: root).status == 0)
        try laptop.run("collect")
        #expect(try laptop.run("submit").status == 0)
        var audit = try runBinary("rookery", ["issues", "audit", "--json"], root: root)
        #expect(audit.status == 0, "\(audit.stderr)")
        #expect(audit.stdout.contains("\"deprecated-port\"") && audit.stdout.contains("\(old)"), "\(audit.stdout)")

        // The device moves to the current port (as a new release's server URL would make it).
        laptop = try ClientRoot(sandbox: sandbox, name: "laptop", serverURL: "http://127.0.0.1:\(current)")
        try laptop.run("collect")
        #expect(try laptop.run("submit").status == 0)
        audit = try runBinary("rookery", ["issues", "audit", "--json"], root: root)
        #expect(audit.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]", "\(audit.stdout)")
        let history = try runBinary("rookery", ["issues", "history", "laptop", "--json"], root: root)
        #expect(history.stdout.contains("\"close_reason\":\"resolved\""), "\(history.stdout)")
    }

    /// A port nothing listens on now, for a server a test starts with it in its settings. Taken at
    /// random below the kernel's ephemeral range (32768 and up), where the outgoing connections of
    /// the tests running beside it take theirs: a port the kernel handed out here could be taken by
    /// one of them before the server binds it.
    static func freePort() throws -> Int {
        for _ in 0..<100 {
            let port = Int.random(in: 20_000..<32_768)
            if isFree(port) { return port }
        }
        throw SettingsError("cannot find a free port between 20000 and 32767")
    }

    private static func isFree(_ port: Int) -> Bool { onNewSocket(port, bind) }

    /// `rookery server` on its settings' ports, once every one of them accepts connections (its
    /// port file names the first alone).
    static func startServer(root: String, ports: [Int]) throws -> Process {
        let process = try ServerLauncher.start(
            binary: binaryDirectory + "/rookery", root: root,
            arguments: ["--log-level", "warning"], standardError: .nullDevice
        ).process
        let deadline = Date().addingTimeInterval(ServerLauncher.startTimeout)
        while !ports.allSatisfy(accepts) {
            guard Date() < deadline, process.isRunning else {
                process.terminate()
                throw SettingsError("server did not listen on \(ports) within \(Int(ServerLauncher.startTimeout)) s")
            }
            usleep(20_000)
        }
        return process
    }

    private static func accepts(_ port: Int) -> Bool { onNewSocket(port, connect) }

    /// Whether `call` (bind or connect) succeeds for 127.0.0.1:`port` on a new TCP socket, closed after.
    private static func onNewSocket(_ port: Int, _ call: (Int32, UnsafePointer<sockaddr>?, socklen_t) -> Int32) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
