import Foundation
import RookeryClient
import RookeryCore
import RookeryServer

/// `bin/bench release` (rookery-bench release): how big a release is, and what installing one costs a device: a real
/// server publishes releases of the real client binary, and a device installs each with
/// `rookery-client update` (signed answer, download, checks, unpack, switch).
struct ReleaseBenchmark {
    let clientBinary: String
    let source: String
    let runs: Int

    struct Result {
        let runs: Int
        let tarballBytes: Int
        let unpackedBytes: Int
        let medianMs: Double
        let maxMs: Double
        let maxRSSKB: Int
        /// Idle cron runs of the binary as the last update left it on disk (and in the page cache).
        let installedCron: CronBenchmark.Result

        var text: String {
            String(
                format: """
                    client release: %.1f MB tarball, %.1f MB unpacked
                    update with install, %d runs: median %.0f ms, max %.0f ms; peak RSS %.1f MB
                    the installed binary's client-cron with nothing due, %d runs: median %.1f ms; peak RSS median %.1f MB, max %.1f MB
                    """, Double(tarballBytes) / 1e6, Double(unpackedBytes) / 1e6, runs, medianMs, maxMs,
                Double(maxRSSKB) / 1024, installedCron.runs, installedCron.medianMs,
                Double(installedCron.medianRSSKB) / 1024, Double(installedCron.maxRSSKB) / 1024)
        }

        var json: String {
            JSONValue.object([
                "runs": .integer(Int64(runs)), "tarball_bytes": .integer(Int64(tarballBytes)),
                "unpacked_bytes": .integer(Int64(unpackedBytes)), "median_ms": .number(medianMs),
                "max_ms": .number(maxMs), "max_rss_kb": .integer(Int64(maxRSSKB)),
                "installed_cron_median_rss_kb": .integer(Int64(installedCron.medianRSSKB)),
                "installed_cron_max_rss_kb": .integer(Int64(installedCron.maxRSSKB))
            ]).serializedString
        }
    }

    func run() async throws -> Result {
        let scratch = try BenchScratch()
        defer { scratch.cleanUp() }
        let server = try BenchServer(root: scratch.path + "/srv")
        defer { server.stop() }
        let context = try await ServerContext(root: InstallRoot(path: server.root))
        let device = scratch.path + "/dev"
        scratch.track(OpenPGP(homeDirectory: device + "/var/client/gnupg"))
        try await enroll(device, server: server, context: context)

        var wall: [Double] = []
        var rss: [Int] = []
        var record: ReleaseRecord?
        for _ in 0..<runs {
            let builder = ReleaseBuilder(
                source: source, clientBinary: clientBinary, serverURL: server.url,
                enrollmentToken: "", signingKey: try context.signingKey())
            record = try await context.releases.publish { try await builder.build(number: $0) }
            let (ms, kilobytes) = try CronBenchmark.timed(
                clientBinary, ["update"], environment: ["ROOKERY_HOME": device],
                scratch: scratch.path)
            guard ReleaseInstaller.installedNumber(InstallRoot(path: device)) == record?.number else {
                throw AdminError("the device did not install release \(record?.number ?? 0); see \(device)/var/client/client.log")
            }
            wall.append(ms)
            rss.append(kilobytes)
        }
        wall.sort()
        let release = device + "/" + (try FileManager.default.destinationOfSymbolicLink(atPath: device + "/current"))
        let unpacked = try FileManager.default.subpathsOfDirectory(atPath: release).reduce(0) { sum, path in
            sum + ((try? FileManager.default.attributesOfItem(atPath: release + "/" + path)[.size] as? Int) ?? 0)
        }
        // What cron costs a device in the minutes after an update: how the installer wrote the binary
        // decides how it sits in the page cache, and so how much of it every run maps.
        let installedCron = try CronBenchmark(
            clientBinary: release + "/lib/rookery/rookery-client", runs: 50,
            coldBinary: false
        ).run()
        return Result(
            runs: runs, tarballBytes: record?.size ?? 0, unpackedBytes: unpacked,
            medianMs: wall[runs / 2], maxMs: wall[runs - 1], maxRSSKB: rss.max() ?? 0,
            installedCron: installedCron)
    }

    /// A device that pins the server key, enrolled and accepted.
    private func enroll(_ device: String, server: BenchServer, context: ServerContext) async throws {
        try FileManager.default.createDirectory(atPath: device + "/client", withIntermediateDirectories: true)
        try "server_url: \(server.url)\nhostname: bench-device\nsystem_root: \(device)\n"
            .write(toFile: device + "/client/settings.yml", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: server.root + "/server/server-key.asc", toPath: device + "/client/server-key.asc")
        _ = try CronBenchmark.timed(clientBinary, ["enroll"], environment: ["ROOKERY_HOME": device], scratch: device)
        _ = try await DeviceAdmin(store: context.store).change("bench-device", to: .accepted)
    }
}
