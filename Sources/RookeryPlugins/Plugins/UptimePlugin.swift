import FoundationEssentials
import RookeryCore

/// `uptime`: when the device booted and how long it has been up.
///
/// The boot time is the `btime` line of /proc/stat (seconds since the epoch); the uptime is the
/// first number of /proc/uptime.
struct UptimePlugin: BuiltinPlugin {
    static let name = "uptime"

    struct Report: Encodable {
        /// RFC 3339, UTC.
        let bootTime: Knowable<String>
        let uptimeSeconds: Knowable<Int>
    }

    static func collect(_ context: PluginContext) -> Report {
        Report(
            bootTime: Knowable(bootTime(context.root).map(RFC3339.string(from:))),
            uptimeSeconds: Knowable(uptimeSeconds(context.root))
        )
    }

    private static func bootTime(_ root: SystemRoot) -> Date? {
        guard let stat = root.readFile("/proc/stat") else { return nil }
        for line in stat.split(whereSeparator: \.isNewline) where line.hasPrefix("btime ") {
            let fields = line.split(separator: " ")
            guard fields.count == 2, let seconds = Int(fields[1]), seconds >= 0 else { return nil }
            return Date(timeIntervalSince1970: TimeInterval(seconds))
        }
        return nil
    }

    /// Whole seconds; /proc/uptime holds "12345.67 23456.78" (up time, idle time).
    private static func uptimeSeconds(_ root: SystemRoot) -> Int? {
        guard let first = root.readValue("/proc/uptime")?.split(separator: " ").first,
            let seconds = Double(first), seconds.isFinite, seconds >= 0, seconds < Double(Int.max)
        else { return nil }
        return Int(seconds)
    }
}
