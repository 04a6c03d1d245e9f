import FoundationEssentials
import RookeryCore

/// `backup`: when the device's backup last succeeded, and how long ago that is.
///
/// The sources, all read under the root:
/// - markers: the files listed in /etc/rookery/backup-markers (one absolute path per line; blank
///   lines and lines starting with "#" are skipped; at most `markerLimit`). A backup script touches
///   its marker when it succeeds, so the marker's modification time is the last success.
/// - the logs of restic, borg and rsync at /var/log/restic.log, borg.log and rsync.log, when they
///   exist (see `BackupLog` for what counts as a success in each). Only the last `logReadLimit`
///   bytes of a log are read: the last success of a healthy log is near its end.
/// Every path is walked without following a symlink out of the root (`ConfinedFile`).
///
/// The newest success of all sources wins. No source at all is `configured: false`, with
/// `newest_success` and `age_hours` "unknown": a device without backups is not known to have a
/// stale one, and the audit's `missing` rule decides what to make of it.
struct BackupPlugin: BuiltinPlugin {
    static let name = "backup"

    struct Report: Encodable {
        /// True when a marker is listed or a tool's log exists.
        let configured: Bool
        let sources: [Source]
        /// RFC 3339, UTC: the newest `last_success` of all sources.
        let newestSuccess: Knowable<String>
        let ageHours: Knowable<Double>
    }

    struct Source: Encodable {
        /// "marker", "restic", "borg" or "rsync".
        let kind: String
        /// As listed for a marker, the log's path for a tool.
        let path: String
        /// RFC 3339, UTC.
        let lastSuccess: Knowable<String>
        /// Hours since `last_success`, to a tenth.
        let ageHours: Knowable<Double>
        /// Why `last_success` is "unknown"; absent when it is known.
        let problem: String?
    }

    static let markersFile = "/etc/rookery/backup-markers"
    static let markerLimit = 32
    static let logReadLimit = 64 * 1024
    /// A success later than this ahead of the clock is a wrong clock or a garbled line, not a
    /// backup: counting it would make the device look fresh for as long as it stays in the future.
    static let futureTolerance: TimeInterval = 3600

    static func collect(_ context: PluginContext) -> Report {
        let now = Date()
        let findings = markerPaths(context.root).map { marker($0, context.root) } + logFindings(context.root)
        let sources = findings.map { source($0, now: now) }
        let newest = findings.compactMap { finding in
            finding.time.flatMap { acceptable($0, now: now) }
        }.max()
        return Report(
            configured: !sources.isEmpty,
            sources: sources,
            newestSuccess: Knowable(newest.map(RFC3339.string(from:))),
            ageHours: Knowable(newest.map { ageHours(of: $0, now: now) })
        )
    }

    /// One source before ages are worked out: the time of its last success, or why it is unknown.
    private struct Finding {
        let kind: String
        let path: String
        let time: Date?
        let problem: String?

        init(kind: String, path: String, time: Date) {
            self.kind = kind
            self.path = path
            self.time = time
            self.problem = nil
        }

        init(kind: String, path: String, problem: String) {
            self.kind = kind
            self.path = path
            self.time = nil
            self.problem = problem
        }
    }

    // MARK: Markers

    /// The listed paths in their order, each once.
    private static func markerPaths(_ root: SystemRoot) -> [String] {
        guard case .success(let file) = ConfinedFile.open(markersFile, in: root, readingLast: logReadLimit) else {
            return []
        }
        var seen: Set<String> = []
        let paths = String(decoding: file.tail, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingWhitespace() }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") && seen.insert($0).inserted }
        return Array(paths.prefix(markerLimit))
    }

    private static func marker(_ path: String, _ root: SystemRoot) -> Finding {
        guard path.hasPrefix("/") else { return Finding(kind: "marker", path: path, problem: "not an absolute path") }
        switch ConfinedFile.open(path, in: root, readingLast: 0) {
        case .success(let file): return Finding(kind: "marker", path: path, time: file.modified)
        case .failure(let refusal): return Finding(kind: "marker", path: path, problem: refusal.rawValue)
        }
    }

    // MARK: Tool logs

    /// The logs that exist; a missing one is no source at all.
    private static func logFindings(_ root: SystemRoot) -> [Finding] {
        BackupLog.allCases.compactMap { log in
            let kind = log.rawValue
            switch ConfinedFile.open(log.path, in: root, readingLast: logReadLimit) {
            case .failure(.missing):
                return nil
            case .failure(let refusal):
                return Finding(kind: kind, path: log.path, problem: refusal.rawValue)
            case .success(let file):
                switch log.lastSuccess(in: String(decoding: file.tail, as: UTF8.self), modified: file.modified) {
                case .at(let time): return Finding(kind: kind, path: log.path, time: time)
                case .untimed: return Finding(kind: kind, path: log.path, problem: "no time for the last success")
                case .none: return Finding(kind: kind, path: log.path, problem: "no success found")
                }
            }
        }
    }

    // MARK: Ages

    private static func source(_ finding: Finding, now: Date) -> Source {
        let time = finding.time.flatMap { acceptable($0, now: now) }
        let problem = time == nil ? finding.problem ?? "in the future" : nil
        return Source(
            kind: finding.kind, path: finding.path,
            lastSuccess: Knowable(time.map(RFC3339.string(from:))),
            ageHours: Knowable(time.map { ageHours(of: $0, now: now) }),
            problem: problem
        )
    }

    private static func acceptable(_ time: Date, now: Date) -> Date? {
        time.timeIntervalSince(now) > futureTolerance ? nil : time
    }

    /// A success slightly ahead of the clock (within `futureTolerance`) is age 0.
    private static func ageHours(of time: Date, now: Date) -> Double {
        let hours = max(0, now.timeIntervalSince(time)) / 3600
        return (hours * 10).rounded() / 10
    }
}
