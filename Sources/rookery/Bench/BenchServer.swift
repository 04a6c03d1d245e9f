import Foundation
import RookeryCore

/// A scratch directory for one benchmark run, with a short path for gpg-agent sockets.
final class BenchScratch {
    let path: String
    private var homes: [OpenPGP] = []

    init() throws {
        var template = Array("/tmp/rkb-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SettingsError("cannot make a scratch directory in /tmp") }
        path = String(cString: made)
    }

    func track(_ home: OpenPGP) { homes.append(home) }

    func cleanUp() {
        homes.forEach { $0.stopAgent() }
        OpenPGP(homeDirectory: path + "/srv/var/server/gnupg").stopAgent()
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// `rookery server` run from this same binary in a scratch root, on an ephemeral port.
final class BenchServer {
    let root: String
    let url: String
    private let process: Process

    init(root: String) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root + "/server", withIntermediateDirectories: true)
        try "listen_host: 127.0.0.1\nlisten_port: 0\n".write(toFile: root + "/server/settings.yml",
                                                              atomically: true, encoding: .utf8)
        let portFile = root + "/port"
        process = Process()
        process.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        process.arguments = ["server", "--port", "0", "--port-file", portFile, "--log-level", "error"]
        var environment = ProcessInfo.processInfo.environment
        environment["ROOKERY_HOME"] = root
        process.environment = environment
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        var port = 0
        while port == 0 && Date() < deadline && process.isRunning {
            port = Int((try? String(contentsOfFile: portFile, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
            if port == 0 { usleep(20_000) }
        }
        guard port > 0 else { throw SettingsError("the benchmark server did not start") }
        url = "http://127.0.0.1:\(port)"
    }

    /// User plus system CPU seconds of the server itself, and of its waited-for children (the gpg runs).
    func cpuSeconds() -> (server: Double, children: Double) {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return (0, 0) }
        // After the command name, field 3 (state) comes first; utime, stime, cutime, cstime are 14-17.
        let fields = stat[stat.index(after: close)...].split(separator: " ").compactMap { Double($0) }
        let hertz = Double(sysconf(Int32(_SC_CLK_TCK)))
        return ((fields[10] + fields[11]) / hertz, (fields[12] + fields[13]) / hertz)
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}
