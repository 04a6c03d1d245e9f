import Foundation
import RookeryCore
import RookeryServer
import RookeryTestSupport

/// A scratch directory for one benchmark run, with a short path for gpg-agent sockets.
final class BenchScratch {
    let path: String
    private var homes: [OpenPGP] = []

    init() throws {
        var template = Array("/tmp/rkb-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw AtomicFile.posixError("cannot make a scratch directory in /tmp") }
        path = String(cString: made)
    }

    func track(_ home: OpenPGP) { homes.append(home) }

    func cleanUp() {
        homes.forEach { $0.stopAgent() }
        OpenPGP(homeDirectory: path + "/srv/var/server/gnupg").stopAgent()
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// `rookery server` (the binary beside this one) in a scratch root, on an ephemeral port; with
/// `tls`, an HTTPS port with a fresh self-signed certificate that `caFile` pins.
final class BenchServer: Sendable {
    /// The server binary: `rookery` beside `rookery-bench` (bin/bench installs both in lib/rookery/).
    static func rookeryBinary() throws -> String {
        let binary = (InstallRoot.currentExecutable as NSString).deletingLastPathComponent + "/rookery"
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw AdminError("no rookery binary beside this one at \(binary); run the benchmarks with bin/bench, which builds both")
        }
        return binary
    }

    let root: String
    let url: String
    /// The certificate clients pin on a TLS server; nil for plain HTTP.
    let caFile: String?
    private let process: Process

    /// The port in `url`.
    var port: UInt16 { UInt16(url.split(separator: ":").last ?? "") ?? 0 }

    /// `verifyWith`: written as the `verify_with` setting; nil writes nothing (a server that does
    /// not know the setting refuses every unknown key).
    /// `extraSettings`: more `key: value` lines for the server's settings (`submit --setting`).
    init(root: String, tls: Bool = false, verifyWith: VerifyWith? = nil, extraSettings: [String] = []) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root + "/server", withIntermediateDirectories: true)
        caFile = tls ? root + "/server/bench.pem" : nil
        let settings =
            try Self.settings(root: root, tls: tls) + (verifyWith.map { "verify_with: \($0.rawValue)\n" } ?? "")
            + extraSettings.map { $0 + "\n" }.joined()
            // A fleet is enrolled all at once and accepted afterwards; every sender is 127.0.0.1.
            + "max_pending_devices: 1000000\nmax_connections_per_address: 1024\nenrollments_per_minute: 1000000\n"
        try settings.write(toFile: root + "/server/settings.yml", atomically: true, encoding: .utf8)
        // The server logs to this program's standard error, so its own message is above a failure.
        let started = try ServerLauncher.start(binary: try Self.rookeryBinary(), root: root, arguments: ["--log-level", "error"])
        process = started.process
        url = "\(tls ? "https" : "http")://127.0.0.1:\(started.port)"
    }

    /// One ephemeral port, plain or with a certificate made now (its key beside it).
    private static func settings(root: String, tls: Bool) throws -> String {
        guard tls else { return "listen_host: 127.0.0.1\nlisten_port: 0\n" }
        let made = try SelfSignedCertificate(hostnames: ["127.0.0.1"], validDays: 1)
        try made.certificatePEM.write(toFile: root + "/server/bench.pem", atomically: true, encoding: .utf8)
        try made.privateKeyPEM.write(toFile: root + "/server/bench.key", atomically: true, encoding: .utf8)
        return "listen_host: 127.0.0.1\nport:\n  0:\n    tls: {certificate: server/bench.pem, key: server/bench.key}\n"
    }

    /// CPU seconds so far: the server process's; the whole machine's but this program's (the
    /// server, its helpers and gpg runs, a database on this machine, and whatever else runs: gpg
    /// runs are reparented to init by GPGME, so no process accounts for them; run it on an
    /// otherwise idle machine); and this program's own (the load generator, which shares the machine).
    func cpuSeconds() -> (server: Double, serverSide: Double, loadGenerator: Double) {
        let hertz = Double(sysconf(Int32(_SC_CLK_TCK)))
        let server = (Self.stat(of: "\(process.processIdentifier)")?.fields[11...12]).map(Self.ticks) ?? 0
        let own = Self.ownCPUSeconds()
        return (server / hertz, Self.machineBusySeconds(hertz: hertz) - own, own)
    }

    /// /proc/PID/stat: the command's name and the fields after it, field 3 on (utime and stime,
    /// fields 14 and 15, are at 11 and 12; cutime and cstime at 13 and 14); nil when it is gone.
    static func stat(of pid: String) -> (name: Substring, fields: [Substring])? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 14 else { return nil }
        return (stat[stat.index(after: open)..<close], fields)
    }

    /// The sum of clock-tick fields.
    static func ticks(_ fields: ArraySlice<Substring>) -> Double {
        fields.compactMap { Double($0) }.reduce(0, +)
    }

    /// `cpuSeconds()` over several servers: their processes' times added up.
    static func cpuSeconds(of servers: [BenchServer]) -> (server: Double, serverSide: Double, loadGenerator: Double) {
        let each = servers.map { $0.cpuSeconds() }
        return (each.map(\.server).reduce(0, +), each.last?.serverSide ?? 0, each.last?.loadGenerator ?? 0)
    }

    /// The server process's peak resident memory in KB (VmHWM), since it started or since the
    /// last `resetPeakMemory`.
    func peakMemoryKB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") })
        else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// Starts the peak over at the current resident memory (Linux's clear_refs value 5), so each
    /// measured run reports its own peak rather than enrollment's.
    func resetPeakMemory() {
        guard let file = FileHandle(forWritingAtPath: "/proc/\(process.processIdentifier)/clear_refs") else { return }
        try? file.write(contentsOf: Data("5".utf8))
        try? file.close()
    }

    /// Busy time of all cores: everything but idle and iowait in /proc/stat's first line.
    private static func machineBusySeconds(hertz: Double) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
            let line = stat.split(separator: "\n").first
        else { return 0 }
        let ticks = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard ticks.count >= 5 else { return 0 }
        return (ticks.reduce(0, +) - ticks[3] - ticks[4]) / hertz
    }

    private static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}
