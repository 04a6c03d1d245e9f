import FoundationEssentials
import Glibc

/// `os_info`: which distribution and kernel the device runs.
///
/// Reads /etc/os-release (or /usr/lib/os-release, its standard fallback), /proc/sys/kernel/osrelease
/// and /proc/sys/kernel/arch. Kernels older than 6.1 lack the last one; then the architecture comes
/// from uname(2), but only when the root is the running machine, since uname describes this machine
/// and not a fixture tree.
struct OSInfoPlugin: BuiltinPlugin {
    static let name = "os_info"

    struct Report: Encodable {
        let id: Knowable<String>
        let versionId: Knowable<String>
        let prettyName: Knowable<String>
        let versionCodename: Knowable<String>
        let kernel: Knowable<String>
        let architecture: Knowable<String>
    }

    static func collect(_ context: PluginContext) -> Report {
        let root = context.root
        let osRelease = ShellAssignments(root.readFile("/etc/os-release") ?? root.readFile("/usr/lib/os-release") ?? "")
        return Report(
            id: known(osRelease["ID"]),
            versionId: known(osRelease["VERSION_ID"]),
            prettyName: known(osRelease["PRETTY_NAME"]),
            versionCodename: known(osRelease["VERSION_CODENAME"]),
            kernel: Knowable(root.readValue("/proc/sys/kernel/osrelease")),
            architecture: Knowable(root.readValue("/proc/sys/kernel/arch") ?? (root.isHostRoot ? unameMachine() : nil))
        )
    }

    /// An empty value says as little as a missing one.
    private static func known(_ value: String?) -> Knowable<String> {
        Knowable(value?.isEmpty == false ? value : nil)
    }

    /// The machine field of uname(2), e.g. "x86_64".
    private static func unameMachine() -> String? {
        var system = utsname()
        guard uname(&system) == 0 else { return nil }
        return withUnsafeBytes(of: &system.machine) { field in
            String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
