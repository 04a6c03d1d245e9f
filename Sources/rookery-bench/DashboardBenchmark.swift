import Foundation
import RookeryCore
import RookeryServer
import RookeryTestSupport

/// `rookery-bench dashboard`: every dashboard page and API route over a large fleet. Seeds
/// --devices accepted devices (AuditBenchmark's documents) and a hundred pending ones into a
/// scratch root's SQLite file, audits once (opening the issues and recording the day's
/// compliance), records 29 earlier days, starts `rookery server` with the dashboard and times
/// each page with curl: time to the first byte of the answer, i.e. the server's work plus
/// loopback.
struct DashboardBenchmark {
    let devices: Int
    let issuesFile: String
    let requests: Int

    struct Page {
        let path: String
        let bytes: Int
        let millisecondsSorted: [Double]
        var median: Double { millisecondsSorted[millisecondsSorted.count / 2] }
        var p95: Double { millisecondsSorted[min(millisecondsSorted.count - 1, millisecondsSorted.count * 95 / 100)] }
        var max: Double { millisecondsSorted.last ?? 0 }
    }

    struct Result {
        let devices: Int
        let pages: [Page]

        var text: String {
            "dashboard over \(devices) devices (SQLite), milliseconds to the first byte:\n"
                + pages.map {
                    "  " + $0.path.padding(toLength: 66, withPad: " ", startingAt: 0)
                        + String(format: " median %6.1f  p95 %6.1f  max %6.1f  (%d bytes)", $0.median, $0.p95, $0.max, $0.bytes)
                }.joined(separator: "\n")
        }

        var json: String {
            JSONValue.object([
                "devices": .integer(Int64(devices)),
                "pages": .array(
                    pages.map {
                        .object([
                            "path": .string($0.path), "bytes": .integer(Int64($0.bytes)), "median_ms": .number($0.median),
                            "p95_ms": .number($0.p95), "max_ms": .number($0.max)
                        ])
                    })
            ]).serializedString
        }
    }

    func run() async throws -> Result {
        let scratch = try BenchScratch()
        defer { scratch.cleanUp() }
        let root = scratch.path + "/srv"
        try FileManager.default.createDirectory(atPath: root + "/server", withIntermediateDirectories: true)
        try """
        listen_host: 127.0.0.1
        listen_port: 0
        max_pending_devices: 1000
        dashboard:
          port: 0
        endpoint_auth:
          dashboard:
            ip_ranges: [127.0.0.1/32]

        """.write(toFile: root + "/server/settings.yml", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: issuesFile, toPath: root + "/server/issues.yml")
        let fingerprint = try await seed(root: root, scratch: scratch)

        let portFile = scratch.path + "/dashboard.port"
        let started = try ServerLauncher.start(
            binary: try BenchServer.rookeryBinary(), root: root,
            arguments: ["--log-level", "error", "--dashboard-port-file", portFile])
        defer {
            started.process.terminate()
            started.process.waitUntilExit()
        }
        let port = try Self.waitForPort(in: portFile)
        let paths = [
            "/", "/devices", "/devices?sort=open_issues&order=desc", "/devices?sort=last_report&page=\(devices / 50)",
            "/devices/\(fingerprint)", "/checks/sshd-password-authentication", "/checks/firewall-inactive?page=10",
            "/enrollments", "/releases", "/rookery/v1/admin/fleet", "/rookery/v1/admin/devices?per_page=500",
            "/rookery/v1/admin/devices/\(fingerprint)", "/rookery/v1/admin/trend?check=firewall-inactive&days=30", "/metrics"
        ]
        return Result(devices: devices, pages: try paths.map { try time("http://127.0.0.1:\(port)" + $0, path: $0) })
    }

    /// The fleet, one audit, then 29 earlier days like it; the fingerprint of a device with issues.
    private func seed(root: String, scratch: BenchScratch) async throws -> String {
        guard let store = try await AdminContext(root: InstallRoot(path: root)).store as? any StoreSeeding else {
            throw AdminError("this store cannot be seeded")
        }
        try await AuditBenchmark.seed(store, devices: devices)
        let now = Date()
        let pending = (0..<100).map { index in
            let host = String(format: "new%04d", index)
            return (
                device: Device(
                    fingerprint: String(format: "F%039X", index), publicKey: "", hostname: host, machineID: "m-" + host,
                    state: .pending, enrolledAt: now.addingTimeInterval(-Double(index) * 60)),
                document: JSONValue.null
            )
        }
        try await store.seed(pending)
        try await store.updateStatistics()
        let (_, _) = try CronBenchmark.timed(
            try BenchServer.rookeryBinary(), ["issues", "audit", "--cron"], environment: ["ROOKERY_HOME": root, "PATH": "/usr/bin:/bin"],
            scratch: scratch.path)
        let catalog = try CheckCatalog.load(path: root + "/server/issues.yml")
        let checks = catalog.deviceChecks.map(\.name) + [ComplianceTally.everyCheck]
        var today: [ComplianceTally] = []
        for check in checks {
            guard let day = try await store.complianceTrend(check: check, since: ComplianceDay.day(of: now)).last else { continue }
            today.append(ComplianceTally(check: check, passed: day.passed, failed: day.failed, unknown: day.unknown))
        }
        for daysAgo in 1..<30 {
            let start = now.addingTimeInterval(-86_400 * Double(daysAgo))
            let tallies = today.map {
                // Earlier days a little worse, so the chart has a slope.
                let moved = min($0.passed, daysAgo * $0.failed / 60)
                return ComplianceTally(check: $0.check, passed: $0.passed - moved, failed: $0.failed + moved, unknown: $0.unknown)
            }
            try await store.recordAudit(
                AuditRun(startedAt: start, finishedAt: start.addingTimeInterval(5), devices: devices, opened: 0, closed: 0),
                tallies: tallies)
        }
        return String(format: "%040X", 0)
    }

    /// `requests` GETs of `url` after one to warm up, each timed by curl to its first byte.
    private func time(_ url: String, path: String) throws -> Page {
        var times: [Double] = []
        var bytes = 0
        for index in 0...requests {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            process.arguments = ["-s", "-o", "/dev/null", "-w", "%{http_code} %{time_starttransfer} %{size_download}", url]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            let fields = text.split(separator: " ")
            guard fields.count == 3, fields[0] == "200", let seconds = Double(fields[1]), let size = Int(fields[2]) else {
                throw AdminError("GET \(path) answered \(text)")
            }
            if index > 0 { times.append(seconds * 1000) }
            bytes = size
        }
        return Page(path: path, bytes: bytes, millisecondsSorted: times.sorted())
    }

    private static func waitForPort(in file: String) throws -> Int {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: file, encoding: .utf8), let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return port
            }
            usleep(50_000)
        }
        throw AdminError("the dashboard did not start listening within 30 s")
    }
}
