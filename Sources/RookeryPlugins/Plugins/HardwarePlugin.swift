import FoundationEssentials
import RookeryCore

/// `hardware`: what the device is: maker, model, serial number, CPU and memory.
///
/// Reads /sys/class/dmi/id/{sys_vendor,product_name,product_serial} (the serial is readable by root
/// only), /proc/cpuinfo and /proc/meminfo.
struct HardwarePlugin: BuiltinPlugin {
    static let name = "hardware"

    struct Report: Encodable {
        let vendor: Knowable<String>
        let product: Knowable<String>
        let serial: Knowable<String>
        let cpuModel: Knowable<String>
        /// Logical CPUs: one per "processor" entry of /proc/cpuinfo.
        let cpuCount: Knowable<Int>
        let memoryBytes: Knowable<Int>
    }

    static func collect(_ context: PluginContext) -> Report {
        let root = context.root
        let cpuinfo = root.readFile("/proc/cpuinfo") ?? ""
        return Report(
            vendor: Knowable(root.readValue("/sys/class/dmi/id/sys_vendor")),
            product: Knowable(root.readValue("/sys/class/dmi/id/product_name")),
            serial: Knowable(root.readValue("/sys/class/dmi/id/product_serial")),
            cpuModel: Knowable(cpuModel(cpuinfo)),
            cpuCount: Knowable(cpuCount(cpuinfo)),
            memoryBytes: Knowable(memoryBytes(root.readFile("/proc/meminfo") ?? ""))
        )
    }

    /// The "model name" of the first CPU (x86, and most arm64 kernels since 5.x do not have one).
    private static func cpuModel(_ cpuinfo: String) -> String? {
        cpuinfoValues(cpuinfo, key: "model name").first { !$0.isEmpty }
    }

    private static func cpuCount(_ cpuinfo: String) -> Int? {
        let count = cpuinfoValues(cpuinfo, key: "processor").count
        return count > 0 ? count : nil
    }

    /// "MemTotal:       16318480 kB" in bytes.
    private static func memoryBytes(_ meminfo: String) -> Int? {
        for line in meminfo.split(whereSeparator: \.isNewline) where line.hasPrefix("MemTotal:") {
            let fields = line.split(separator: " ")
            guard fields.count == 3, fields[2] == "kB", let kibibytes = Int(fields[1]) else { return nil }
            let (bytes, overflow) = kibibytes.multipliedReportingOverflow(by: 1024)
            return overflow || bytes < 0 ? nil : bytes
        }
        return nil
    }

    /// The values of every "key : value" line of /proc/cpuinfo with that key.
    private static func cpuinfoValues(_ cpuinfo: String, key: String) -> [String] {
        cpuinfo.split(whereSeparator: \.isNewline).compactMap { line in
            guard let colon = line.firstIndex(of: ":"),
                line[..<colon].trimmingWhitespace() == key
            else { return nil }
            return line[line.index(after: colon)...].trimmingWhitespace()
        }
    }
}
