import FoundationEssentials

/// `os_updates`: which package updates wait to be installed, how many of them fix security problems,
/// whether a newer release of the distribution is out, and whether the device waits for a reboot.
///
/// The package manager is the first of apt, dnf and pacman whose program exists; without any the
/// output is "unknown". Nothing is installed, and the system's package lists are not refreshed
/// (the distribution's own timers do that):
/// - apt: `apt-get -s -o Debug::NoLocking=1 dist-upgrade` simulates an upgrade; each "Inst" line is
///   a pending package, a security one when its origin names a "-security" archive. A newer release
///   comes from `do-release-upgrade -c` (Ubuntu); a reboot is required when /run/reboot-required
///   (or /var/run/reboot-required) exists.
/// - dnf: `dnf -q check-update` (exits 100 when updates wait) and `dnf -q updateinfo list --security`;
///   a reboot is required when `needs-restarting -r` exits 1.
/// - pacman: `checkupdates` (from pacman-contrib, which syncs a private copy of the package lists),
///   else `pacman -Qu`; Arch publishes no security flags pacman can see, so the security count is
///   "unknown".
struct OSUpdatesPlugin: BuiltinPlugin {
    static let name = "os_updates"

    struct Report: Encodable {
        /// "apt", "dnf" or "pacman".
        let manager: String
        let pending: Knowable<Int>
        let security: Knowable<Int>
        let packages: Knowable<[String]>
        let securityPackages: Knowable<[String]>
        let releaseUpgrade: Knowable<Bool>
        let rebootRequired: Knowable<Bool>
    }

    /// Simulating an upgrade reads every package list; give it longer than an ordinary command, but
    /// less than the client's timeout for the whole plugin (30 s by default).
    private static let packageManagerTimeout: TimeInterval = 25

    static func collect(_ context: PluginContext) -> Knowable<Report> {
        let root = context.root
        if root.fileExists("/usr/bin/apt-get") { return .known(apt(root)) }
        if root.fileExists("/usr/bin/dnf") { return .known(dnf(root)) }
        if root.fileExists("/usr/bin/pacman") { return .known(pacman(root)) }
        return .unknown
    }

    /// Packages waiting for an update; `security` is nil when the manager cannot tell which.
    private struct PendingUpdates {
        let packages: [String]
        let security: [String]?
    }

    private static func report(
        manager: String, _ updates: PendingUpdates?, releaseUpgrade: Bool?, rebootRequired: Bool?
    ) -> Report {
        Report(
            manager: manager,
            pending: Knowable(updates?.packages.count),
            security: Knowable(updates?.security?.count),
            packages: Knowable(updates?.packages),
            securityPackages: Knowable(updates?.security),
            releaseUpgrade: Knowable(releaseUpgrade),
            rebootRequired: Knowable(rebootRequired)
        )
    }

    // MARK: apt

    private static func apt(_ root: SystemRoot) -> Report {
        let simulation = root.run(
            "/usr/bin/apt-get", ["-s", "-o", "Debug::NoLocking=1", "dist-upgrade"], timeout: packageManagerTimeout
        )
        return report(
            manager: "apt",
            simulation.map(parseAptSimulation),
            releaseUpgrade: ubuntuReleaseUpgrade(root),
            rebootRequired: root.fileExists("/run/reboot-required") || root.fileExists("/var/run/reboot-required")
        )
    }

    /// "Inst libssl3 [3.0.2-0ubuntu1.10] (3.0.2-0ubuntu1.12 Ubuntu:22.04/jammy-updates, Ubuntu:22.04/jammy-security [amd64])":
    /// the package name, then the installed version in brackets (absent for a new package), then the
    /// new version and the archives it comes from in parentheses.
    private static func parseAptSimulation(_ output: String) -> PendingUpdates {
        var packages: [String] = []
        var security: [String] = []
        for line in output.split(whereSeparator: \.isNewline) where line.hasPrefix("Inst ") {
            let words = line.split(separator: " ")
            guard words.count >= 2 else { continue }
            let package = String(words[1])
            packages.append(package)
            let origins = line.firstIndex(of: "(").map { line[$0...] } ?? ""
            if origins.lowercased().contains("-security") { security.append(package) }
        }
        return PendingUpdates(packages: packages, security: security)
    }

    /// Ubuntu's `do-release-upgrade -c` prints "New release '24.04 LTS' available." when there is one
    /// and "No new release found." when not; anything else (no network) says nothing.
    private static func ubuntuReleaseUpgrade(_ root: SystemRoot) -> Bool? {
        guard let result = root.execute("/usr/bin/do-release-upgrade", ["-c"]) else {
            return nil
        }
        if result.output.contains("New release") { return true }
        if result.output.contains("No new release found") { return false }
        return nil
    }

    // MARK: dnf

    private static func dnf(_ root: SystemRoot) -> Report {
        var updates: PendingUpdates?
        if let packages = dnfPendingPackages(root) {
            updates = PendingUpdates(packages: packages, security: dnfSecurityPackages(root))
        }
        return report(manager: "dnf", updates, releaseUpgrade: nil, rebootRequired: dnfRebootRequired(root))
    }

    /// `dnf check-update` exits 0 when all is current, 100 when updates wait, anything else on error.
    private static func dnfPendingPackages(_ root: SystemRoot) -> [String]? {
        guard let result = root.execute("/usr/bin/dnf", ["-q", "check-update"], timeout: packageManagerTimeout) else {
            return nil
        }
        switch result.status {
        case 0: return []
        case 100: return parseDnfCheckUpdate(result.output)
        default: return nil
        }
    }

    /// "kernel-core.x86_64   6.8.9-300.fc40   updates": name.arch, version, repository. A section
    /// "Obsoleting Packages" may follow; those are not further updates.
    private static func parseDnfCheckUpdate(_ output: String) -> [String] {
        var packages: [String] = []
        for line in output.split(whereSeparator: \.isNewline) {
            if line.hasPrefix("Obsoleting") { break }
            let fields = line.split(whereSeparator: \.isWhitespace)
            guard fields.count == 3, let dot = fields[0].lastIndex(of: ".") else { continue }
            packages.append(String(fields[0][..<dot]))
        }
        return packages
    }

    private static func dnfSecurityPackages(_ root: SystemRoot) -> [String]? {
        root.run("/usr/bin/dnf", ["-q", "updateinfo", "list", "--security"], timeout: packageManagerTimeout)
            .map(parseDnfSecurityList)
    }

    /// dnf 4 prints "FEDORA-2024-1a2b3c Important/Sec.  kernel-6.8.9-300.fc40.x86_64", dnf 5 adds
    /// columns and a header; either way each line names one package as name-version-release.arch.
    private static func parseDnfSecurityList(_ output: String) -> [String] {
        let names = output.split(whereSeparator: \.isNewline).compactMap { line in
            line.split(whereSeparator: \.isWhitespace).lazy.compactMap(packageName(fromNEVRA:)).first
        }
        return Array(Set(names)).sorted()
    }

    private static let rpmArchitectures: Set<Substring> = [
        "x86_64", "noarch", "i686", "aarch64", "ppc64le", "s390x", "armv7hl", "riscv64", "src"
    ]

    /// "kernel-core-6.8.9-300.fc40.x86_64" is "kernel-core": drop the architecture, then the release
    /// and the version (the last two "-" parts). nil for a word that is not such a name.
    private static func packageName(fromNEVRA word: Substring) -> String? {
        guard let dot = word.lastIndex(of: "."), rpmArchitectures.contains(word[word.index(after: dot)...]) else {
            return nil
        }
        let parts = word[..<dot].split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return nil }
        return parts.dropLast(2).joined(separator: "-")
    }

    /// `needs-restarting -r` exits 1 when the kernel or core libraries changed since boot, 0 when not.
    private static func dnfRebootRequired(_ root: SystemRoot) -> Bool? {
        let result =
            root.execute("/usr/bin/needs-restarting", ["-r"])
            ?? root.execute("/usr/bin/dnf", ["-q", "needs-restarting", "-r"])
        switch result?.status {
        case 0: return false
        case 1: return true
        default: return nil
        }
    }

    // MARK: pacman

    private static func pacman(_ root: SystemRoot) -> Report {
        let updates = pacmanPendingPackages(root).map { PendingUpdates(packages: $0, security: nil) }
        return report(manager: "pacman", updates, releaseUpgrade: nil, rebootRequired: nil)
    }

    /// `checkupdates` checks against a fresh private copy of the package lists and exits 2 when
    /// nothing waits; `pacman -Qu` uses the system's lists and exits 1 when nothing waits.
    private static func pacmanPendingPackages(_ root: SystemRoot) -> [String]? {
        if let result = root.execute("/usr/bin/checkupdates", [], timeout: packageManagerTimeout) {
            switch result.status {
            case 0: return parsePacmanUpdates(result.output)
            case 2: return []
            default: break
            }
        }
        guard let result = root.execute("/usr/bin/pacman", ["-Qu"], timeout: packageManagerTimeout) else { return nil }
        switch result.status {
        case 0: return parsePacmanUpdates(result.output)
        case 1 where result.output.isEmpty: return []
        default: return nil
        }
    }

    /// Both tools print "linux 6.8.1.arch1-1 -> 6.8.2.arch1-1": the name comes first.
    private static func parsePacmanUpdates(_ output: String) -> [String] {
        output.split(whereSeparator: \.isNewline).compactMap { line in
            line.split(separator: " ").first.map(String.init)
        }
    }
}
