import FoundationEssentials
import Glibc
import RookeryCore

/// When `client-cron` will find nothing due, and the files that verdict was drawn from:
/// `var/client/quiet-window`. Cron runs every minute on every device and nearly always has nothing
/// to do; with this file such a run compares three `stat` results and the clock, instead of
/// reading the settings (YAML) and the state (JSON) and setting up everything a run that does
/// something needs.
///
/// A full run that found nothing due writes it. The verdict is a function of the settings files,
/// the state file and the time, so it holds for as long as `stat` sees the same files and the time
/// stays inside the window: anything that changes a file (an edited setting, a new release, a
/// collection or delivery run by hand, an enrollment answer) changes its stamp, and the next run
/// takes the full path again, which writes a new window when it too finds nothing due.
public struct QuietWindow {
    /// Runs starting in `from..<until` (seconds since 1970) find nothing due.
    let from: Double
    let until: Double
    /// One line per file: its path and what `stat` says of it (see `stamp`).
    let stamps: [String]

    /// The window of a run that found nothing due with these settings and this state, read from
    /// the files `stamps` describes (taken before they were read, so a file that changed meanwhile
    /// makes the next run a full one); nil when something is due at every time.
    init?(settings: ClientSettings, state: ClientState, stamps: [String]) {
        // The timers CronRun looks at; updates only once the server accepted the device.
        var timers = [(state.lastCollect, settings.collectInterval), (state.lastSubmit, settings.submitInterval)]
        if state.enrollment == .accepted { timers.append((state.lastUpdate, settings.updateInterval)) }
        var from = -Double.infinity
        var until = Double.infinity
        for (last, every) in timers {
            guard let last = last?.timeIntervalSince1970 else { return nil }
            // CronRun.isDue: due from `every` seconds after the last run, and at once when the
            // clock reads more than a minute before it (a clock set back).
            from = max(from, last - 60)
            until = min(until, last + Double(every))
        }
        guard from < until else { return nil }
        self.init(from: from, until: until, stamps: stamps)
    }

    init(from: Double, until: Double, stamps: [String]) {
        (self.from, self.until, self.stamps) = (from, until, stamps)
    }

    /// True when a run at `now` would find nothing due: the window file is there, `now` lies
    /// inside it, and every file it was drawn from is as it was. Anything unreadable or odd
    /// answers false, and the full run decides.
    public static func covers(_ now: Date, root: InstallRoot) -> Bool {
        guard let data = FileManager.default.contents(atPath: path(root)),
            let window = parse(String(decoding: data, as: UTF8.self))
        else { return false }
        let time = now.timeIntervalSince1970
        return window.from <= time && time < window.until && window.stamps == stamps(root)
    }

    /// Writes the window unless the file already holds it (cron would otherwise write every
    /// minute). A window that cannot be written only costs later runs the full path.
    func record(root: InstallRoot, log: ClientLog) {
        let path = Self.path(root)
        let text = self.text
        if FileManager.default.contents(atPath: path) == Data(text.utf8) { return }
        do { try AtomicFile.write(Data(text.utf8), to: path) } catch { log.warning("cannot write \(path): \(error)") }
    }

    static func path(_ root: InstallRoot) -> String { root.clientState + "/quiet-window" }

    /// "quiet FROM UNTIL", then the stamp lines.
    var text: String {
        (["quiet \(from) \(until)"] + stamps).joined(separator: "\n") + "\n"
    }

    static func parse(_ text: String) -> QuietWindow? {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.last == "" else { return nil }
        lines.removeLast()
        let head = lines.first?.split(separator: " ") ?? []
        guard head.count == 3, head[0] == "quiet", let from = Double(head[1]), let until = Double(head[2]) else { return nil }
        return QuietWindow(from: from, until: until, stamps: Array(lines.dropFirst()))
    }

    /// The files a cron run's verdict is drawn from: the release's and the device's settings, and
    /// the state. The release's path goes through `current`, and `stat` follows it, so a new
    /// release changes the stamp.
    public static func stamps(_ root: InstallRoot) -> [String] {
        [root.clientReleaseSettings, root.clientSettings, root.clientState + "/state.json"].map(stamp)
    }

    /// The path, and the file's device, inode, size and modification time to the nanosecond: an
    /// atomic rewrite makes a new inode, an edit in place a new time or size.
    static func stamp(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "\(path) absent" }
        return "\(path) \(info.st_dev):\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
    }
}
