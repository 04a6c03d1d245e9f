import Foundation
import Glibc
import RookeryCore
import Testing

@testable import RookeryPlugins

@Suite("backup")
struct BackupTests {
    static let hour: TimeInterval = 3600

    /// A whole second `hours` ago, so it reads back exactly from RFC 3339 text.
    static func hoursAgo(_ hours: Double) -> Date {
        Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - hours * hour).rounded(.down))
    }

    /// `date` as the C library writes it in local time, as rsync and borg do.
    static func localTime(_ date: Date, _ format: String) -> String {
        var seconds = time_t(date.timeIntervalSince1970)
        var fields = tm()
        localtime_r(&seconds, &fields)
        var buffer = [CChar](repeating: 0, count: 64)
        let length = strftime(&buffer, buffer.count, format, &fields)
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func utc(_ date: Date) -> JSON { .string(RFC3339.string(from: date)) }

    /// Within a tenth of an hour (ages are rounded to a tenth, and the test takes a moment).
    static func isAbout(_ value: JSON, _ hours: Double) -> Bool {
        guard let number = value.number else { return false }
        return abs(number - hours) <= 0.15
    }

    static func touch(_ root: SystemRoot, _ path: String, at date: Date) throws {
        if !root.fileExists(path) { try root.write(path, "") }
        try FileManager.default.setAttributes([.modificationDate: date], ofItemAtPath: root.resolve(path))
    }

    static func writeLog(_ root: SystemRoot, _ path: String, _ text: String, modified: Date) throws {
        try root.write(path, text)
        try touch(root, path, at: modified)
    }

    // MARK: Markers

    @Test("a marker's modification time is the last success; fresh and stale")
    func markerFreshAndStale() throws {
        let sandbox = try Sandbox(fixture: nil)
        try sandbox.root.write("/etc/rookery/backup-markers", "# written by backup.sh\n/var/lib/backup/last-success\n")
        let fresh = Self.hoursAgo(2)
        try Self.touch(sandbox.root, "/var/lib/backup/last-success", at: fresh)

        var report = try sandbox.run("backup")
        #expect(report["configured"] == true)
        #expect(report["newest_success"] == Self.utc(fresh))
        #expect(Self.isAbout(report["age_hours"], 2))
        let source = report["sources"][0]
        #expect(source.keys == ["kind", "path", "last_success", "age_hours"])
        #expect(source["kind"] == "marker")
        #expect(source["path"] == "/var/lib/backup/last-success")
        #expect(source["last_success"] == Self.utc(fresh))
        #expect(Self.isAbout(source["age_hours"], 2))

        let stale = Self.hoursAgo(72)
        try Self.touch(sandbox.root, "/var/lib/backup/last-success", at: stale)
        report = try sandbox.run("backup")
        #expect(report["newest_success"] == Self.utc(stale))
        #expect(Self.isAbout(report["age_hours"], 72))
    }

    @Test("several sources: each is listed, and the newest success wins")
    func newestWins() throws {
        let sandbox = try Sandbox(fixture: nil)
        try sandbox.root.write("/etc/rookery/backup-markers", "/srv/backup/home.done\n/srv/backup/db.done\n")
        try Self.touch(sandbox.root, "/srv/backup/home.done", at: Self.hoursAgo(30))
        let newest = Self.hoursAgo(5)
        try Self.touch(sandbox.root, "/srv/backup/db.done", at: newest)
        let resticTime = Self.hoursAgo(10)
        try Self.writeLog(
            sandbox.root, "/var/log/restic.log", "\(RFC3339.string(from: resticTime)) snapshot 0a1b2c3d saved\n",
            modified: Self.hoursAgo(10))

        let report = try sandbox.run("backup")
        #expect(report["sources"].elements.map { $0["kind"] } == ["marker", "marker", "restic"])
        #expect(report["sources"].elements.map { $0["path"] } == ["/srv/backup/home.done", "/srv/backup/db.done", "/var/log/restic.log"])
        #expect(Self.isAbout(report["sources"][0]["age_hours"], 30))
        #expect(report["sources"][2]["last_success"] == Self.utc(resticTime))
        #expect(report["newest_success"] == Self.utc(newest))
        #expect(Self.isAbout(report["age_hours"], 5))
    }

    @Test("what the markers file lists that is no marker is reported, not skipped")
    func badMarkers() throws {
        let sandbox = try Sandbox(fixture: nil)
        try sandbox.root.write(
            "/etc/rookery/backup-markers",
            """
              # comments and blank lines are skipped

            relative/marker
            /var/lib/backup
            /var/lib/backup/never-written
            /var/lib/backup/never-written
            """)
        try sandbox.root.write("/var/lib/backup/other", "")
        let report = try sandbox.run("backup")
        #expect(report["configured"] == true)
        #expect(
            report["sources"].elements.map { [$0["path"], $0["problem"], $0["last_success"], $0["age_hours"]] } == [
                ["relative/marker", "not an absolute path", "unknown", "unknown"],
                ["/var/lib/backup", "not a regular file", "unknown", "unknown"],
                ["/var/lib/backup/never-written", "missing", "unknown", "unknown"]
            ])
        #expect(report["newest_success"] == "unknown")
        #expect(report["age_hours"] == "unknown")
    }

    @Test("a success far in the future is not believed")
    func futureMarker() throws {
        let sandbox = try Sandbox(fixture: nil)
        try sandbox.root.write("/etc/rookery/backup-markers", "/a.done\n/b.done\n")
        try Self.touch(sandbox.root, "/a.done", at: Self.hoursAgo(-5 * 24))
        let real = Self.hoursAgo(50)
        try Self.touch(sandbox.root, "/b.done", at: real)
        let report = try sandbox.run("backup")
        #expect(report["sources"][0]["problem"] == "in the future")
        #expect(report["sources"][0]["last_success"] == "unknown")
        #expect(report["newest_success"] == Self.utc(real))
    }

    // MARK: Symlinks

    @Test("a marker that is a symlink out of the root is refused, not followed")
    func symlinkOutOfTheRoot() throws {
        let sandbox = try Sandbox(fixture: nil)
        // A fresh file beside the root: following either link would report it.
        let outside = try sandbox.directory("outside") + "/last-success"
        try Data().write(to: URL(fileURLWithPath: outside))
        try sandbox.root.write("/etc/rookery/backup-markers", "/var/lib/backup/climbs\n/var/lib/backup/absolute\n")
        // From root/var/lib/backup, four ".." reach the sandbox, one above the root.
        try sandbox.root.symlink("/var/lib/backup/climbs", to: "../../../../outside/last-success")
        // An absolute target means a path inside the root, where there is no such file.
        try sandbox.root.symlink("/var/lib/backup/absolute", to: outside)

        let report = try sandbox.run("backup")
        #expect(report["sources"][0]["problem"] == "outside the root")
        #expect(report["sources"][0]["last_success"] == "unknown")
        #expect(report["sources"][1]["problem"] == "missing")
        #expect(report["sources"][1]["last_success"] == "unknown")
        #expect(report["newest_success"] == "unknown")
    }

    @Test("symlinks that stay inside the root are followed there")
    func symlinkInsideTheRoot() throws {
        let sandbox = try Sandbox(fixture: nil)
        let done = Self.hoursAgo(3)
        try Self.touch(sandbox.root, "/srv/backup/last-success", at: done)
        try sandbox.root.write("/etc/rookery/backup-markers", "/var/lib/backup/relative\n/var/lib/backup/absolute\n/state/last-success\n")
        try sandbox.root.symlink("/var/lib/backup/relative", to: "../../../srv/backup/./last-success")
        try sandbox.root.symlink("/var/lib/backup/absolute", to: "/srv/backup/last-success")
        try sandbox.root.symlink("/state", to: "srv/backup")

        let report = try sandbox.run("backup")
        #expect(report["sources"].elements.map { $0["last_success"] } == [Self.utc(done), Self.utc(done), Self.utc(done)])
    }

    @Test("a symlink loop ends, unknown")
    func symlinkLoop() throws {
        let sandbox = try Sandbox(fixture: nil)
        try sandbox.root.write("/etc/rookery/backup-markers", "/loop/a\n")
        try sandbox.root.symlink("/loop/a", to: "b")
        try sandbox.root.symlink("/loop/b", to: "/loop/a")
        #expect(try sandbox.run("backup")["sources"][0]["problem"] == "too many symlinks")
    }

    @Test("a markers file or a log behind a symlink out of the root is not read")
    func configurationOutOfTheRoot() throws {
        let sandbox = try Sandbox(fixture: nil)
        let outside = try sandbox.directory("outside")
        try "/marker\n".write(toFile: outside + "/backup-markers", atomically: true, encoding: .utf8)
        try "snapshot 0a1b2c3d saved\n".write(toFile: outside + "/restic.log", atomically: true, encoding: .utf8)
        try Self.touch(sandbox.root, "/marker", at: Self.hoursAgo(1))
        try sandbox.root.symlink("/etc/rookery/backup-markers", to: "../../../outside/backup-markers")
        try sandbox.root.symlink("/var/log/restic.log", to: "../../../outside/restic.log")

        let report = try sandbox.run("backup")
        #expect(
            report["sources"] == [
                [
                    "kind": "restic", "path": "/var/log/restic.log", "last_success": "unknown",
                    "age_hours": "unknown", "problem": "outside the root"
                ]
            ])
        #expect(report["newest_success"] == "unknown")
    }

    // MARK: restic

    @Test("restic: the last \"snapshot ... saved\" line, with its own time or the file's")
    func restic() throws {
        let sandbox = try Sandbox(fixture: nil)
        let modified = Self.hoursAgo(6)
        let run = """
            open repository
            using parent snapshot 9f8e7d6c
            Files:          12 new,    40 changed, 90210 unmodified
            Added to the repository: 1.234 GiB (1.100 GiB stored)
            processed 90262 files, 120.456 GiB in 3:12
            """
        // No times at all: the success line is the last line, so it was written at the file's mtime.
        try Self.writeLog(sandbox.root, "/var/log/restic.log", run + "\nsnapshot 1a2b3c4d saved\n\n", modified: modified)
        #expect(try sandbox.run("backup")["sources"][0]["last_success"] == Self.utc(modified))

        // A later run failed after the success: when the success was can no longer be told.
        try Self.writeLog(
            sandbox.root, "/var/log/restic.log",
            run + "\nsnapshot 1a2b3c4d saved\nFatal: unable to open repository at sftp:nas:/backup: connection refused\n",
            modified: modified)
        var source = try sandbox.run("backup")["sources"][0]
        #expect(source["last_success"] == "unknown")
        #expect(source["problem"] == "no time for the last success")

        // A script that stamps each line (here with a zone, as `ts '%FT%T%z'` or journalctl
        // -o short-iso do) gives the success its own time, whatever follows.
        let saved = Date(timeIntervalSince1970: 1_714_529_671)  // 2024-05-01T02:14:31Z
        try Self.writeLog(
            sandbox.root, "/var/log/restic.log",
            """
            2024-04-30T04:14:31+0200 snapshot 00aa11bb saved
            2024-05-01T04:14:31+0200 snapshot 1a2b3c4d saved
            2024-05-02T04:00:03+0200 Fatal: unable to open repository
            """, modified: modified)
        #expect(try sandbox.run("backup")["sources"][0]["last_success"] == Self.utc(saved))

        // Lines that only look alike.
        try Self.writeLog(
            sandbox.root, "/var/log/restic.log",
            """
            snapshot 1a2b3c4d not saved
            snapshot xyz saved
            using parent snapshot 1a2b3c4d
            snapshot 1a2b
            """, modified: modified)
        source = try sandbox.run("backup")["sources"][0]
        #expect(source["problem"] == "no success found")
        #expect(try sandbox.run("backup")["configured"] == true)
    }

    // MARK: borg

    @Test("borg: the --stats block's Time (end), in local time, and --show-rc's success line")
    func borg() throws {
        let sandbox = try Sandbox(fixture: nil)
        let end = Self.hoursAgo(26)
        func statsBlock(_ end: Date) -> String {
            """
            ------------------------------------------------------------------------------
            Repository: ssh://backup@nas/./laptop
            Archive name: laptop-\(Self.localTime(end, "%Y-%m-%dT%H:%M:%S"))
            Archive fingerprint: 6e2b6ad5a2f1c0b8d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6
            Time (start): \(Self.localTime(end.addingTimeInterval(-600), "%a, %Y-%m-%d %H:%M:%S"))
            Time (end):   \(Self.localTime(end, "%a, %Y-%m-%d %H:%M:%S"))
            Duration: 10 minutes 0.00 seconds
            Number of files: 123456
            ------------------------------------------------------------------------------
            """
        }
        // The rc line is not the last line (a later run's first line follows), so the stats block
        // gives the time.
        try Self.writeLog(
            sandbox.root, "/var/log/borg.log",
            statsBlock(end) + "\nterminating with success status, rc 0\nRemote: ssh: connect to host nas port 22: Connection refused\n",
            modified: Self.hoursAgo(1))
        #expect(try sandbox.run("backup")["sources"][0]["last_success"] == Self.utc(end))

        // --show-rc without --stats: the success line is the last line, so the file's mtime.
        let modified = Self.hoursAgo(4)
        try Self.writeLog(
            sandbox.root, "/var/log/borg.log", statsBlock(end) + "\nterminating with success status, rc 0\n",
            modified: modified)
        #expect(try sandbox.run("backup")["sources"][0]["last_success"] == Self.utc(modified))

        // A warning or error status is not a success, nor is a Time (end) outside a create's block.
        try Self.writeLog(
            sandbox.root, "/var/log/borg.log",
            """
            Time (end):   \(Self.localTime(end, "%a, %Y-%m-%d %H:%M:%S"))
            terminating with warning status, rc 1
            terminating with error status, rc 2
            """, modified: modified)
        #expect(try sandbox.run("backup")["sources"][0]["problem"] == "no success found")
    }

    // MARK: rsync

    @Test("rsync: --log-file summaries in local time; one followed by its process's error is no success")
    func rsync() throws {
        let sandbox = try Sandbox(fixture: nil)
        let good = Self.hoursAgo(30)
        let failed = Self.hoursAgo(6)
        let warned = Self.hoursAgo(20)
        func line(_ date: Date, _ process: Int, _ message: String) -> String {
            "\(Self.localTime(date, "%Y/%m/%d %H:%M:%S")) [\(process)] \(message)"
        }
        let log = [
            line(good.addingTimeInterval(-300), 4242, "building file list"),
            line(good.addingTimeInterval(-200), 4242, ">f+++++++++ home/alice/notes.txt"),
            line(good, 4242, "sent 1,234,567 bytes  received 5,678 bytes  total size 98,765,432"),
            line(warned, 5001, "sent 2,222 bytes  received 33 bytes  2,255.00 bytes/sec"),
            line(warned, 5001, "total size is 98,765,432  speedup is 43,798.42"),
            line(warned, 5001, "rsync warning: some files vanished before they could be transferred (code 24) at main.c(1338) [sender=3.2.7]"),
            line(failed.addingTimeInterval(-60), 6100, "building file list"),
            line(failed, 6100, "sent 0 bytes  received 0 bytes  total size 0"),
            line(failed, 6100, "rsync error: error in socket IO (code 10) at clientserver.c(139) [sender=3.2.7]"),
            "sent 9 bytes  received 9 bytes  18.00 bytes/sec"
        ]
        try Self.writeLog(sandbox.root, "/var/log/rsync.log", log.joined(separator: "\n") + "\n", modified: Self.hoursAgo(0))
        let source = try sandbox.run("backup")["sources"][0]
        #expect(source["kind"] == "rsync")
        #expect(source["last_success"] == Self.utc(warned))
        #expect(Self.isAbout(source["age_hours"], 20))
    }

    // MARK: Odd logs

    @Test("a huge log is read only at its end; garbage and truncated lines still give an answer")
    func hugeAndGarbledLogs() throws {
        let sandbox = try Sandbox(fixture: nil)
        let modified = Self.hoursAgo(1)
        let filler = String(repeating: "x", count: 99) + "\n"
        // A success far from the end is beyond what is read.
        let early = "2024-05-01T02:14:31Z snapshot 1a2b3c4d saved\n" + String(repeating: filler, count: 40_000)
        try Self.writeLog(sandbox.root, "/var/log/restic.log", early, modified: modified)
        #expect(try sandbox.run("backup")["sources"][0]["problem"] == "no success found")

        // At the end it is found, in a file far larger than what is read.
        try Self.writeLog(sandbox.root, "/var/log/restic.log", early + "snapshot 5e6f7a8b saved\n", modified: modified)
        #expect(try sandbox.run("backup")["sources"][0]["last_success"] == Self.utc(modified))

        // One endless line (no line break in the part read): nothing whole to read.
        try Self.writeLog(
            sandbox.root, "/var/log/borg.log", String(repeating: "terminating with success status ", count: 10_000),
            modified: modified)
        // Random bytes, and a line cut off mid-write.
        var random = SeededRandom(seed: 0xBAC)
        var garbage = random.bytes(count: 200_000)
        garbage += Array("\n2024/05/01 02:14:31 [42] sent 1 bytes  rec".utf8)
        try sandbox.root.write("/var/log/rsync.log", data: Data(garbage))

        let report = try sandbox.run("backup")
        #expect(report["sources"].elements.map { $0["kind"] } == ["restic", "borg", "rsync"])
        #expect(report["sources"][1]["problem"] == "no success found")
        #expect(report["sources"][2]["problem"] == "no success found")
        #expect(report["newest_success"] == Self.utc(modified))
    }

    @Test("at most the last 64 KiB of a file is read, from the start of a line")
    func boundedRead() throws {
        let sandbox = try Sandbox(fixture: nil)
        let line = String(repeating: "y", count: 1023) + "\n"
        try sandbox.root.write("/var/log/big.log", String(repeating: line, count: 1024) + "last\n")
        let file = try ConfinedFile.open("/var/log/big.log", in: sandbox.root, readingLast: 64 * 1024).get()
        #expect(file.tail.count <= 64 * 1024)
        #expect(file.tail.count > 60 * 1024)
        #expect(file.tail.first == UInt8(ascii: "y"))
        #expect(String(decoding: file.tail.suffix(5), as: UTF8.self) == "last\n")
        let lines = String(decoding: file.tail, as: UTF8.self).split(whereSeparator: \.isNewline)
        #expect(lines.dropLast().allSatisfy { $0.count == 1023 })
    }

    @Test("a log that is not a regular file is listed as such")
    func logNotAFile() throws {
        let sandbox = try Sandbox(fixture: nil)
        _ = try sandbox.directory("root/var/log/borg.log")
        #expect(
            try sandbox.run("backup")["sources"] == [
                [
                    "kind": "borg", "path": "/var/log/borg.log", "last_success": "unknown", "age_hours": "unknown",
                    "problem": "not a regular file"
                ]
            ])
    }

    // MARK: Nothing configured

    @Test("no markers and no logs: not configured, which is not the same as stale")
    func nothingConfigured() throws {
        let sandbox = try Sandbox(fixture: nil)
        let expected: JSON = ["configured": false, "sources": [], "newest_success": "unknown", "age_hours": "unknown"]
        #expect(try sandbox.run("backup") == expected)
        // A markers file with nothing but comments configures nothing either.
        try sandbox.root.write("/etc/rookery/backup-markers", "# /var/lib/backup/last-success\n\n")
        #expect(try sandbox.run("backup") == expected)
    }

    // MARK: Timestamps

    @Test("log timestamps: with a zone, without one (local time), and near misses")
    func timestamps() {
        func parse(_ text: String) -> Date? { LogTimestamp.leading(Substring(text))?.date }
        let instant = Date(timeIntervalSince1970: 1_714_529_671)  // 2024-05-01T02:14:31Z
        #expect(parse("2024-05-01T02:14:31Z snapshot") == instant)
        #expect(parse("2024-05-01 04:14:31+02:00") == instant)
        #expect(parse("2024-05-01T04:14:31.250+0200 host restic[12]:") == instant)
        #expect(parse("2024-04-30T21:14:31 -05:00") == instant)
        #expect(parse(Self.localTime(instant, "%Y/%m/%d %H:%M:%S") + " [1] x") == instant)
        #expect(LogTimestamp.leading("2024/05/01 02:14:31 [4242] sent")?.rest == " [4242] sent")
        for nearMiss in [
            "2024-02-30 10:00:00", "2024-13-01 10:00:00", "2024-05-01 24:00:00", "2024-05-01T02:14",
            "2024-05/01 02:14:31", "2024-05-01 02:14:31x", "1969-12-31 23:59:59Z", "24-05-01 02:14:31", ""
        ] {
            #expect(parse(nearMiss) == nil, "\(nearMiss)")
        }
    }
}
