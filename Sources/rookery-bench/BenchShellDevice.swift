import Foundation
import RookeryCore
import RookeryServer

/// The device of `bin/bench shell`: enrolled and accepted, its shell account this process's own
/// user in a passwd of its sandboxed system root, with a prompt the benchmark can wait for.
struct BenchShellDevice {
    static let hostname = "bench-shell"
    static let prompt = "bench-ready$ "
    let root: String
    let clientBinary: String

    init(scratch: BenchScratch, server: BenchServer, clientBinary: String) async throws {
        root = scratch.path + "/dev"
        self.clientBinary = clientBinary
        scratch.track(OpenPGP(homeDirectory: root + "/var/client/gnupg"))
        let home = root + "/home"
        for directory in ["/client", "/etc", "/home"] {
            try FileManager.default.createDirectory(atPath: root + directory, withIntermediateDirectories: true)
        }
        try """
        server_url: \(server.url)
        hostname: \(Self.hostname)
        system_root: \(root)
        collect_interval: 3600
        submit_interval: 3600
        shell_account: bench

        """.write(toFile: root + "/client/settings.yml", atomically: true, encoding: .utf8)
        try "bench:x:\(getuid()):\(getgid()):Bench:\(home):/bin/sh\n".write(toFile: root + "/etc/passwd", atomically: true, encoding: .utf8)
        try "bench:x:\(getgid()):\n".write(toFile: root + "/etc/group", atomically: true, encoding: .utf8)
        try "machine-bench-shell\n".write(toFile: root + "/etc/machine-id", atomically: true, encoding: .utf8)
        try "PS1='\(Self.prompt)'\nexport PS1\n".write(toFile: home + "/.profile", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: server.root + "/server/server-key.asc", toPath: root + "/client/server-key.asc")
        _ = try CronBenchmark.timed(clientBinary, ["enroll"], environment: ["ROOKERY_HOME": root], scratch: root)
        let context = try await ServerContext(root: InstallRoot(path: server.root))
        _ = try await DeviceAdmin(store: context.store).change(Self.hostname, to: .accepted)
    }

    func startAgent() throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: clientBinary)
        process.arguments = ["agent"]
        process.environment = ProcessInfo.processInfo.environment.merging(["ROOKERY_HOME": root]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// The update a `client-cron` run makes when its update interval is due.
    func runUpdate() throws {
        _ = try CronBenchmark.timed(clientBinary, ["update"], environment: ["ROOKERY_HOME": root], scratch: root)
    }

    /// A file of `bytes` printable lines in the device's home.
    func makeFile(bytes: Int) throws -> String {
        let path = root + "/home/cat.txt"
        let line = Data((String(repeating: "rookery-shell-bench-", count: 3) + "\n").utf8)
        var data = Data(capacity: bytes)
        while data.count + line.count <= bytes { data.append(line) }
        data.append(Data(repeating: UInt8(ascii: "x"), count: bytes - data.count))
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }
}
