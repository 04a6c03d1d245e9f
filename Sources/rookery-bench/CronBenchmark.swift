import Foundation
import RookeryCore
import RookeryServer

/// `bin/bench cron` (rookery-bench cron): what `client-cron` costs a device on the minutes when nothing is due.
struct CronBenchmark {
    let clientBinary: String
    let runs: Int
    /// Drop the binary's pages from the page cache before the first run, so that they come back
    /// from disk as after a device's reboot. A process maps a cached folio whole, so the peak RSS
    /// depends on how the file was last written: the same bytes written by `strip -o` measured
    /// 20 MB, a copy of them 11 MB. Off to measure the binary as something else left it.
    var coldBinary = true

    struct Result {
        let runs: Int
        let medianMs: Double
        let p90Ms: Double
        let maxMs: Double
        let medianRSSKB: Int
        let maxRSSKB: Int

        var text: String {
            String(
                format: """
                    client-cron with nothing due, %d runs
                    wall time:    median %.1f ms, p90 %.1f ms, max %.1f ms
                    peak RSS:     median %.1f MB, max %.1f MB
                    """, runs, medianMs, p90Ms, maxMs, Double(medianRSSKB) / 1024, Double(maxRSSKB) / 1024)
        }

        var json: String {
            JSONValue.object([
                "runs": .integer(Int64(runs)), "median_ms": .number(medianMs), "p90_ms": .number(p90Ms),
                "max_ms": .number(maxMs), "median_rss_kb": .integer(Int64(medianRSSKB)),
                "max_rss_kb": .integer(Int64(maxRSSKB))
            ]).serializedString
        }
    }

    func run() throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: Self.gnuTime) else {
            throw AdminError("\(Self.gnuTime) is missing; install Debian's `time` package")
        }
        let scratch = try BenchScratch()
        defer { scratch.cleanUp() }
        let root = scratch.path + "/client"
        try prepareNothingDueRoot(root)
        if coldBinary { try Self.dropFromPageCache(clientBinary) }

        var wall: [Double] = []
        var rss: [Int] = []
        for _ in 0..<runs {
            let (ms, kilobytes) = try Self.timed(
                clientBinary, ["cron"], environment: ["ROOKERY_HOME": root],
                scratch: scratch.path)
            wall.append(ms)
            rss.append(kilobytes)
        }
        let queued = try FileManager.default.contentsOfDirectory(atPath: root + "/var/client/collected")
        guard queued.isEmpty else { throw AdminError("client-cron collected although nothing was due") }
        wall.sort()
        rss.sort()
        return Result(
            runs: runs, medianMs: wall[runs / 2], p90Ms: wall[runs * 9 / 10], maxMs: wall[runs - 1],
            medianRSSKB: rss[runs / 2], maxRSSKB: rss[runs - 1])
    }

    /// A client root that collected, submitted and asked for updates a moment ago, with hour-long
    /// collect and submit intervals.
    private func prepareNothingDueRoot(_ root: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/client", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/var/client/collected", withIntermediateDirectories: true)
        try "server_url: http://127.0.0.1:9\ncollect_interval: 3600\nsubmit_interval: 3600\n"
            .write(toFile: root + "/client/settings.yml", atomically: true, encoding: .utf8)
        let now = Int(Date().timeIntervalSince1970)
        try "{\"enrollment\":\"accepted\",\"last_collect\":\(now),\"last_submit\":\(now),\"last_update\":\(now)}"
            .write(toFile: root + "/var/client/state.json", atomically: true, encoding: .utf8)
    }

    static func dropFromPageCache(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AdminError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let failed = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        guard failed == 0 else { throw AdminError("cannot drop \(path) from the page cache: \(String(cString: strerror(failed)))") }
    }

    /// Runs a program to completion under GNU time; returns its wall time in ms and peak RSS in KB.
    /// The RSS cannot come from this process's own wait4: a child spawned from a large process
    /// inherits that process's peak in ru_maxrss. GNU time is small, so its child's figure is the
    /// client's own. The wall time includes GNU time's start, well under a millisecond.
    static func timed(
        _ executable: String, _ arguments: [String], environment: [String: String],
        scratch: String
    ) throws -> (Double, Int) {
        let report = scratch + "/rss"
        let timeArguments = ["-f", "%M", "-o", report, executable] + arguments
        let argv = ([gnuTime] + timeArguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        let start = DispatchTime.now().uptimeNanoseconds
        // What the program prints is not the benchmark's output.
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, gnuTime, &actions, nil, argv, envp)
        guard spawned == 0 else { throw AdminError("cannot run \(gnuTime): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        guard status == 0 else { throw AdminError("\(executable) \(arguments.joined(separator: " ")) failed (status \(status))") }
        let text = try String(contentsOfFile: report, encoding: .utf8)
        guard let kilobytes = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw AdminError("GNU time reported \(text)")
        }
        return (elapsed, kilobytes)
    }

    static let gnuTime = "/usr/bin/time"
}
