import FoundationEssentials

/// `guest_session`: whether someone can use the device from its login screen without a password.
///
/// The display manager in use is the target of /etc/systemd/system/display-manager.service, else the
/// program named in /etc/X11/default-display-manager (Debian), else whichever of LightDM and GDM has
/// its configuration directory.
/// - LightDM offers a guest session unless `allow-guest` or `greeter-allow-guest` is false; both
///   default to true. Its configuration is read in LightDM's own order, later files winning:
///   /usr/share/lightdm/lightdm.conf.d/*.conf, /etc/xdg/lightdm/lightdm.conf.d/*.conf,
///   /etc/lightdm/lightdm.conf.d/*.conf, then /etc/lightdm/lightdm.conf, sections [Seat:*],
///   [Seat:seat0] and the older [SeatDefaults].
/// - GDM has no guest session; its equivalent is logging someone in automatically, which
///   `AutomaticLoginEnable` or `TimedLoginEnable` in the [daemon] section of /etc/gdm3/custom.conf
///   (Debian) or /etc/gdm/custom.conf turns on.
/// Another display manager is "unknown"; none at all is `false` with display_manager "none".
struct GuestSessionPlugin: BuiltinPlugin {
    static let name = "guest_session"

    struct Report: Encodable {
        /// "lightdm", "gdm", "none", or the name of a display manager not examined ("sddm").
        let displayManager: String
        let enabled: Knowable<Bool>
    }

    static func collect(_ context: PluginContext) -> Report {
        let root = context.root
        switch activeDisplayManager(root) ?? installedDisplayManager(root) {
        case nil:
            return Report(displayManager: "none", enabled: .known(false))
        case "lightdm":
            return Report(displayManager: "lightdm", enabled: .known(lightDMAllowsGuests(root)))
        case "gdm":
            return Report(displayManager: "gdm", enabled: .known(gdmLogsInAutomatically(root)))
        case let other?:
            return Report(displayManager: other, enabled: .unknown)
        }
    }

    // MARK: Which display manager

    private static func activeDisplayManager(_ root: SystemRoot) -> String? {
        if let unit = root.symlinkTarget("/etc/systemd/system/display-manager.service") {
            return displayManagerName(unit, suffix: ".service")
        }
        if let program = root.readValue("/etc/X11/default-display-manager") {
            return displayManagerName(program, suffix: "")
        }
        return nil
    }

    private static func installedDisplayManager(_ root: SystemRoot) -> String? {
        if root.isDirectory("/etc/lightdm") { return "lightdm" }
        if root.isDirectory("/etc/gdm3") || root.isDirectory("/etc/gdm") { return "gdm" }
        return nil
    }

    /// "/lib/systemd/system/gdm3.service" and "/usr/sbin/gdm3" are both "gdm" (Debian calls it gdm3).
    private static func displayManagerName(_ path: String, suffix: String) -> String {
        var name = path.split(separator: "/").last.map(String.init) ?? path
        if !suffix.isEmpty, name.hasSuffix(suffix) { name.removeLast(suffix.count) }
        return name == "gdm3" ? "gdm" : name
    }

    // MARK: LightDM

    private static let lightDMSeatSections: Set<String> = ["Seat:*", "Seat:seat0", "SeatDefaults"]

    private static func lightDMAllowsGuests(_ root: SystemRoot) -> Bool {
        let files =
            root.files(in: "/usr/share/lightdm/lightdm.conf.d", endingWith: ".conf")
            + root.files(in: "/etc/xdg/lightdm/lightdm.conf.d", endingWith: ".conf")
            + root.files(in: "/etc/lightdm/lightdm.conf.d", endingWith: ".conf")
            + ["/etc/lightdm/lightdm.conf"]
        let merged = IniFile(merging: files.compactMap { root.readFile($0) })
        let allowGuest = parseKeyFileBoolean(merged.value(of: "allow-guest", inSections: lightDMSeatSections)) ?? true
        let greeterAllowsGuest =
            parseKeyFileBoolean(
                merged.value(of: "greeter-allow-guest", inSections: lightDMSeatSections)
            ) ?? true
        return allowGuest && greeterAllowsGuest
    }

    // MARK: GDM

    private static func gdmLogsInAutomatically(_ root: SystemRoot) -> Bool {
        let text = root.readFile("/etc/gdm3/custom.conf") ?? root.readFile("/etc/gdm/custom.conf") ?? ""
        let config = IniFile(text)
        return ["AutomaticLoginEnable", "TimedLoginEnable"].contains { key in
            parseKeyFileBoolean(config.value(of: key, inSections: ["daemon"])) == true
        }
    }
}
