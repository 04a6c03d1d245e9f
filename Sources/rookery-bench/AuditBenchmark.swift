import Foundation
import RookeryCore
import RookeryServer

/// `rookery-bench audit`: the issues audit over a large stored fleet. Seeds --devices accepted
/// devices with realistic documents (a tenth or so failing each of several shipped checks) into a
/// scratch root's SQLite file (or a scratch PostgreSQL database), then runs `rookery issues audit --cron` (the binary beside this one) twice
/// under GNU time: the first pass opens every issue, the second is the steady hourly run.
struct AuditBenchmark {
    let devices: Int
    /// The checks to run: the install root's server/issues.yml.
    let issuesFile: String
    /// Where to build the fleet and keep it (seeded once, reused by later runs); nil: a scratch root.
    let keepRoot: String?
    /// Seed and audit on a scratch database of this cluster instead of SQLite.
    var postgres: BenchPostgres?

    struct Pass {
        let wallMs: Double
        let maxRSSKB: Int
        /// PostgreSQL's own CPU seconds over the pass, when it runs on this machine.
        let databaseCPUSeconds: Double?
    }

    struct Result {
        let devices: Int
        let backend: String
        let databaseBytes: Int
        let openIssues: Int
        let first: Pass, steady: Pass

        var text: String {
            String(
                format: """
                    audit of %d devices on \(backend) (database %.0f MB, %d open issues afterwards):
                      first pass (opens issues): %.2f s, peak RSS %.1f MB\(Self.database(first))
                      steady pass:               %.2f s, peak RSS %.1f MB\(Self.database(steady))
                    """, devices, Double(databaseBytes) / 1e6, openIssues, first.wallMs / 1000,
                Double(first.maxRSSKB) / 1024, steady.wallMs / 1000, Double(steady.maxRSSKB) / 1024)
        }

        private static func database(_ pass: Pass) -> String {
            pass.databaseCPUSeconds.map { String(format: ", PostgreSQL CPU %.2f s", $0) } ?? ""
        }

        var json: String {
            JSONValue.object([
                "devices": .integer(Int64(devices)), "backend": .string(backend),
                "database_bytes": .integer(Int64(databaseBytes)),
                "open_issues": .integer(Int64(openIssues)),
                "first_ms": .number(first.wallMs), "first_max_rss_kb": .integer(Int64(first.maxRSSKB)),
                "steady_ms": .number(steady.wallMs), "steady_max_rss_kb": .integer(Int64(steady.maxRSSKB)),
                "first_database_cpu_seconds": first.databaseCPUSeconds.map(JSONValue.number) ?? .null,
                "steady_database_cpu_seconds": steady.databaseCPUSeconds.map(JSONValue.number) ?? .null
            ]).serializedString
        }
    }

    func run() async throws -> Result {
        let scratch = try BenchScratch()
        defer { scratch.cleanUp() }
        let root = keepRoot ?? scratch.path + "/srv"
        guard let postgres else { return try await measure(root: root, settings: [], scratch: scratch) }
        return try await postgres.withScratchDatabase { database in
            try await measure(
                root: root, settings: postgres.settings(for: database), databaseCPU: { postgres.cpuSeconds() },
                scratch: scratch)
        }
    }

    /// Seeds the fleet unless a kept SQLite root has it already, then times the two passes.
    private func measure(
        root: String, settings: [String], databaseCPU: () -> Double? = { nil }, scratch: BenchScratch
    ) async throws -> Result {
        let fm = FileManager.default
        let fresh = !settings.isEmpty || !fm.fileExists(atPath: root + "/" + ServerSettings().database)
        if fresh {
            try fm.createDirectory(atPath: root + "/server", withIntermediateDirectories: true)
            let lines = (["# bench"] + settings).map { $0 + "\n" }.joined()
            try lines.write(toFile: root + "/server/settings.yml", atomically: true, encoding: .utf8)
            try? fm.removeItem(atPath: root + "/server/issues.yml")
            try fm.copyItem(atPath: issuesFile, toPath: root + "/server/issues.yml")
        }
        guard let store = try await AdminContext(root: InstallRoot(path: root)).store as? any StoreSeeding else {
            throw AdminError("this store cannot be seeded")
        }
        if fresh {
            try await Self.seed(store, devices: devices)
            try await store.updateStatistics()
        }

        let binary = try BenchServer.rookeryBinary()
        let environment = ["ROOKERY_HOME": root, "PATH": "/usr/bin:/bin"]
        let passes = try (0..<2).map { _ in
            let before = databaseCPU()
            let (ms, kb) = try CronBenchmark.timed(
                binary, ["issues", "audit", "--cron"], environment: environment,
                scratch: scratch.path)
            let spent = databaseCPU().flatMap { after in before.map { after - $0 } }
            return Pass(wallMs: ms, maxRSSKB: kb, databaseCPUSeconds: spent)
        }
        return Result(
            devices: devices, backend: settings.isEmpty ? "SQLite" : "PostgreSQL",
            databaseBytes: try await store.databaseBytes(), openIssues: try await store.openIssues(fingerprint: nil).count,
            first: passes[0], steady: passes[1])
    }

    /// `devices` accepted devices with `document`s (as `adjust` makes them), a thousand per transaction.
    static func seed(
        _ store: any StoreSeeding, devices: Int, adjust: (Int, JSONValue) -> JSONValue = { $1 }
    ) async throws {
        let now = Date()
        for start in stride(from: 0, to: devices, by: 1000) {
            let fleet = (start..<min(start + 1000, devices)).map { index in
                let host = String(format: "host%06d", index)
                let fingerprint = String(format: "%040X", index)
                // Every hundredth device has been silent for five days.
                let last = now.addingTimeInterval(index % 100 == 0 ? -5 * 86_400 : -Double(index % 3600))
                let device = Device(
                    fingerprint: fingerprint, publicKey: "", hostname: host, machineID: "m-" + host,
                    state: .accepted, enrolledAt: now.addingTimeInterval(-30 * 86_400),
                    acceptedAt: now.addingTimeInterval(-30 * 86_400), lastSubmissionAt: last)
                return (device: device, document: adjust(index, Self.document(host: host, index: index)))
            }
            try await store.seed(fleet)
        }
    }

    /// A bench document in the shapes the shipped checks read, failing some of them.
    static func document(host: String, index: Int) -> JSONValue {
        guard case .object(var plugins) = BenchDocument.plugins(host: host, sequence: index) else { return .null }
        plugins["sshd"] = .object([
            "running": .bool(true), "password_authentication": .bool(index % 10 == 0),
            "permit_root_login": .string("prohibit-password")
        ])
        plugins["firewall"] = .object([
            "active": .bool(index % 7 != 0), "backends": .array([.string("nftables")]),
            "default_input_policy": .string("drop")
        ])
        plugins["os_updates"] = .object([
            "manager": .string("apt"), "pending": .integer(4),
            "security": .integer(index % 4 == 0 ? 2 : 0),
            "release_upgrade": .bool(false), "reboot_required": .bool(index % 9 == 0)
        ])
        let redis: JSONValue = .object([
            "protocol": .string("tcp"), "address": .string(index % 13 == 0 ? "0.0.0.0" : "127.0.0.1"),
            "port": .integer(6379), "program": .string("redis-server")
        ])
        if case .array(let ports)? = plugins["listening_ports"] {
            plugins["listening_ports"] = .object(["ports": .array(ports + [redis])])
        }
        if index % 50 == 0 { plugins["screenlock"] = .string("unknown") }
        return .object(["plugins": .object(plugins), "submitted_at": .string(RFC3339.string(from: Date()))])
    }
}
