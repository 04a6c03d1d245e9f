import Foundation
import RookeryCore
import RookeryServer

/// `rookery-bench audit`: the issues audit over a large stored fleet. Seeds --devices accepted
/// devices with realistic documents (a tenth or so failing each of several shipped checks) into a
/// scratch root's SQLite file, then runs `rookery issues audit --cron` (the binary beside this one) twice
/// under GNU time: the first pass opens every issue, the second is the steady hourly run.
struct AuditBenchmark {
    let devices: Int
    /// The checks to run: the install root's server/issues.yml.
    let issuesFile: String
    /// Where to build the fleet and keep it (seeded once, reused by later runs); nil: a scratch root.
    let keepRoot: String?

    struct Pass {
        let wallMs: Double
        let maxRSSKB: Int
    }

    struct Result {
        let devices: Int
        let databaseBytes: Int
        let openIssues: Int
        let first: Pass, steady: Pass

        var text: String {
            String(
                format: """
                    audit of %d devices (database %.0f MB, %d open issues afterwards):
                      first pass (opens issues): %.2f s, peak RSS %.1f MB
                      steady pass:               %.2f s, peak RSS %.1f MB
                    """, devices, Double(databaseBytes) / 1e6, openIssues, first.wallMs / 1000,
                Double(first.maxRSSKB) / 1024, steady.wallMs / 1000, Double(steady.maxRSSKB) / 1024)
        }

        var json: String {
            JSONValue.object([
                "devices": .integer(Int64(devices)), "database_bytes": .integer(Int64(databaseBytes)),
                "open_issues": .integer(Int64(openIssues)),
                "first_ms": .number(first.wallMs), "first_max_rss_kb": .integer(Int64(first.maxRSSKB)),
                "steady_ms": .number(steady.wallMs), "steady_max_rss_kb": .integer(Int64(steady.maxRSSKB))
            ]).serializedString
        }
    }

    func run() async throws -> Result {
        let scratch = try BenchScratch()
        defer { scratch.cleanUp() }
        let root = keepRoot ?? scratch.path + "/srv"
        let database = root + "/" + ServerSettings().database
        let fm = FileManager.default
        if !fm.fileExists(atPath: database) {
            try fm.createDirectory(atPath: root + "/server", withIntermediateDirectories: true)
            try "# bench\n".write(toFile: root + "/server/settings.yml", atomically: true, encoding: .utf8)
            try? fm.removeItem(atPath: root + "/server/issues.yml")
            try fm.copyItem(atPath: issuesFile, toPath: root + "/server/issues.yml")
            try await seed(SQLiteStore(path: database))
        }

        let binary = try BenchServer.rookeryBinary()
        let environment = ["ROOKERY_HOME": root, "PATH": "/usr/bin:/bin"]
        let passes = try (0..<2).map { _ in
            let (ms, kb) = try CronBenchmark.timed(
                binary, ["issues", "audit", "--cron"], environment: environment,
                scratch: scratch.path)
            return Pass(wallMs: ms, maxRSSKB: kb)
        }
        let open = try await SQLiteStore(path: database).openIssues(fingerprint: nil).count
        let size = (try FileManager.default.attributesOfItem(atPath: database)[.size] as? Int) ?? 0
        return Result(devices: devices, databaseBytes: size, openIssues: open, first: passes[0], steady: passes[1])
    }

    private func seed(_ store: SQLiteStore) async throws {
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
                return (device: device, document: Self.document(host: host, index: index))
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
