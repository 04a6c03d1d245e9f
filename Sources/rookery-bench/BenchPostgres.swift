import Foundation
import RookeryCore
import RookeryServer

/// `--database postgresql://USER@HOST:PORT/DB`: each measured setup gets a database of its own,
/// made beside DB (the user needs CREATEDB) and dropped afterwards, so every run starts empty and
/// nothing already in the cluster is touched. When the cluster runs on this machine, its CPU time
/// is read from /proc, for the database's share of the server side.
struct BenchPostgres: Sendable {
    let cluster: PostgresLocation
    /// The password file the bench servers are given as `database_password_file`.
    let passwordFile: String?

    init(url: String, passwordFile: String?) throws {
        cluster = try PostgresLocation(url: url)
        self.passwordFile = passwordFile.map { ($0 as NSString).standardizingPath }
    }

    /// Whether /proc can tell the cluster's CPU time: it runs here.
    var isLocal: Bool { ["127.0.0.1", "localhost", "::1"].contains(cluster.host) }

    /// Makes a fresh database, runs `body` on its location, and drops it however `body` ended.
    func withScratchDatabase<Result>(_ body: (PostgresLocation) async throws -> Result) async throws -> Result {
        let password = try PostgresPool.password(file: passwordFile, environment: ProcessInfo.processInfo.environment)
        let admin = try await AdminContext.openPool(cluster, password: password, connections: 1)
        let name = "rookery_bench_" + Hex.string((0..<6).map { _ in UInt8.random(in: 0...255) })
        try await admin.execute(unsafeSQL: "CREATE DATABASE \(name)")
        var scratch = cluster
        scratch.database = name
        do {
            let result = try await body(scratch)
            try await admin.execute(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)")
            return result
        } catch {
            try? await admin.execute(unsafeSQL: "DROP DATABASE \(name) WITH (FORCE)")
            throw error
        }
    }

    /// The server settings that point at `location`.
    func settings(for location: PostgresLocation) -> [String] {
        ["database: \(location.description)"] + (passwordFile.map { ["database_password_file: \($0)"] } ?? [])
    }

    /// CPU seconds of every `postgres` process on this machine (the postmaster, its backends,
    /// and, through the postmaster's children's times, the backends that already ended); nil
    /// when the cluster runs elsewhere.
    func cpuSeconds() -> Double? {
        guard isLocal, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        let hertz = Double(sysconf(Int32(_SC_CLK_TCK)))
        var ticks = 0.0
        for pid in entries where pid.allSatisfy(\.isNumber) {
            // utime, stime, cutime and cstime.
            guard let stat = BenchServer.stat(of: pid), stat.name == "postgres" else { continue }
            ticks += BenchServer.ticks(stat.fields[11...14])
        }
        return ticks / hertz
    }
}
