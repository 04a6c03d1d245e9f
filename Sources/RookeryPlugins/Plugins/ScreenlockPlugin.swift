import FoundationEssentials
import RookeryCore

/// `screenlock`: whether the screens of the people using the device lock by themselves when idle.
///
/// Only someone in a graphical session has a screen to lock. A graphical session is a process of a
/// person (uid 1000 or more) with DISPLAY or WAYLAND_DISPLAY in its /proc/PID/environ. For each such
/// person, in this order:
/// - a running `xautolock` or `swayidle` (argv[0] in /proc/PID/cmdline) locks the screen: enabled;
/// - with GNOME Shell running, `gsettings` answers, run as that person (see `gsettingsRun`) so that
///   it reads their settings: enabled when org.gnome.desktop.screensaver lock-enabled is true and
///   org.gnome.desktop.session idle-delay is not 0 (0 means "never idle");
/// - otherwise nothing Rookery knows locks the screen: not enabled.
/// `enabled` is true only when every session locks. With nobody in a graphical session (a server, a
/// laptop with the lid closed at the login screen) it is "unknown", and `last_known` carries the last
/// answer that was known and when it was seen, kept in the state directory between runs.
struct ScreenlockPlugin: BuiltinPlugin {
    static let name = "screenlock"

    struct Report: Encodable {
        let enabled: Knowable<Bool>
        let sessions: [Session]
        let lastKnown: LastKnown?
    }

    struct Session: Encodable {
        let user: String
        let enabled: Knowable<Bool>
        /// What locks the screen, or would: "xautolock", "swayidle", "gnome"; absent when nothing does.
        let locker: String?
    }

    struct LastKnown: Codable {
        let enabled: Bool
        /// RFC 3339, UTC.
        let at: String
    }

    static let stateFileName = "screenlock.json"

    static func collect(_ context: PluginContext) -> Report {
        // The first line for a uid wins, as with getpwuid(3).
        let accounts = Dictionary(
            (PasswdFile.read(context.root) ?? []).map { ($0.uid, $0) }, uniquingKeysWith: { first, _ in first }
        )
        let sessions = graphicalSessions(context.root).map { graphicalSession in
            session(graphicalSession, account: accounts[graphicalSession.uid], context.root)
        }
        let enabled = Knowable.all(sessions.map(\.enabled))
        var lastKnown = loadLastKnown(context.stateDirectory)
        if case .known(let answer) = enabled {
            let seenNow = LastKnown(enabled: answer, at: RFC3339.string(from: Date()))
            saveLastKnown(seenNow, context.stateDirectory)
            lastKnown = seenNow
        }
        return Report(enabled: enabled, sessions: sessions, lastKnown: lastKnown)
    }

    // MARK: Sessions

    /// What is running for one person with a graphical session.
    private struct GraphicalSession {
        let uid: Int
        /// The environment of one of the session's graphical processes.
        let environment: [String: String]
        /// The program names (argv[0] without directory) of all the person's processes.
        var programs: Set<String> = []
    }

    private static let firstPersonUID = 1000
    private static let nobodyUID = 65534

    /// One entry per person with a graphical session, sorted by uid.
    private static func graphicalSessions(_ root: SystemRoot) -> [GraphicalSession] {
        var sessions: [Int: GraphicalSession] = [:]
        var programsByUID: [Int: Set<String>] = [:]
        for pid in root.processIDs() {
            guard let uid = root.processOwner(pid), uid >= firstPersonUID, uid != nobodyUID else { continue }
            if let program = root.commandLine(pid).first?.split(separator: "/").last {
                programsByUID[uid, default: []].insert(String(program))
            }
            if sessions[uid] == nil {
                let environment = root.environment(pid)
                if environment["DISPLAY"]?.isEmpty == false || environment["WAYLAND_DISPLAY"]?.isEmpty == false {
                    sessions[uid] = GraphicalSession(uid: uid, environment: environment)
                }
            }
        }
        return sessions.values.sorted { $0.uid < $1.uid }.map { session in
            var session = session
            session.programs = programsByUID[session.uid] ?? []
            return session
        }
    }

    private static let idleLockers = ["xautolock", "swayidle"]

    private static func session(_ session: GraphicalSession, account: PasswdEntry?, _ root: SystemRoot) -> Session {
        let user = account?.name ?? String(session.uid)
        if let locker = idleLockers.first(where: session.programs.contains) {
            return Session(user: user, enabled: .known(true), locker: locker)
        }
        if session.programs.contains("gnome-shell") {
            let enabled = gnomeLocksScreen(session, account: account, root)
            return Session(user: user, enabled: Knowable(enabled), locker: enabled == true ? "gnome" : nil)
        }
        return Session(user: user, enabled: .known(false), locker: nil)
    }

    // MARK: GNOME

    /// util-linux `setpriv`: sets the uid, gid and groups, then execs the program in place (so it stays
    /// in the plugin's process group, where the timeouts reach it).
    static let setprivPath = "/usr/bin/setpriv"
    static let gsettingsPath = "/usr/bin/gsettings"
    /// The PATH gsettings gets: system directories only.
    static let gsettingsSearchPath = "/usr/local/bin:/usr/bin:/bin"

    /// How gsettings is run to read one person's settings: `setpriv` with `setprivArguments` (which
    /// end with the gsettings program) and then gsettings' own arguments, in exactly `environment`.
    struct GSettingsRun: Equatable {
        let setprivArguments: [String]
        let environment: [String: String]
    }

    /// gsettings runs as the person whose settings it reads, never as root.
    ///
    /// The client runs as root, and everything in a session's environment is the person's to choose.
    /// Handed to a gsettings running as root, HOME, XDG_* and DBUS_SESSION_BUS_ADDRESS would choose
    /// which files and which D-Bus a root process opens. So `setpriv` switches to the person's uid,
    /// primary gid and groups (numbers from /etc/passwd, so no name can stand for root) and refuses
    /// new privileges, and the environment is built from what root knows, not taken from the
    /// session: HOME, USER and LOGNAME from /etc/passwd, XDG_RUNTIME_DIR /run/user/UID where it exists,
    /// a fixed PATH. Of the session's variables only DBUS_SESSION_BUS_ADDRESS is passed, and only when
    /// it is the person's own bus (`sessionBusAddress`). gsettings reads the dconf database in HOME.
    ///
    /// nil, so GNOME's answer is "unknown", rather than ever running gsettings as root: for uid 0, or a
    /// uid without an account (with a numeric gid) in /etc/passwd.
    static func gsettingsRun(
        uid: Int, account: PasswdEntry?, sessionEnvironment: [String: String], _ root: SystemRoot
    ) -> GSettingsRun? {
        guard uid > 0, let account, account.uid == uid, let gid = account.gid, gid >= 0 else { return nil }
        var environment = ["PATH": gsettingsSearchPath, "USER": account.name, "LOGNAME": account.name]
        if account.home.hasPrefix("/") {
            environment["HOME"] = account.home
        }
        let runtimeDirectory = "/run/user/\(uid)"
        if root.isDirectory(runtimeDirectory) {
            environment["XDG_RUNTIME_DIR"] = runtimeDirectory
        }
        if let bus = sessionBusAddress(sessionEnvironment["DBUS_SESSION_BUS_ADDRESS"], uid: uid) {
            environment["DBUS_SESSION_BUS_ADDRESS"] = bus
        }
        let arguments = [
            "--reuid=\(uid)", "--regid=\(gid)", "--init-groups", "--no-new-privs", "--", root.resolve(gsettingsPath)
        ]
        return GSettingsRun(setprivArguments: arguments, environment: environment)
    }

    /// `address` when it is a single `unix:path=` address of a socket under /run/user/UID, the
    /// directory systemd-logind gives that person ("unix:path=/run/user/1000/bus"); nil for anything
    /// else: other transports, several addresses, more keys, %-escapes, an empty, "." or ".."
    /// component, or another person's directory.
    static func sessionBusAddress(_ address: String?, uid: Int) -> String? {
        let prefix = "unix:path="
        guard let address, address.hasPrefix(prefix) else { return nil }
        let path = address.dropFirst(prefix.count)
        let directory = "/run/user/\(uid)/"
        guard path.hasPrefix(directory),
            path.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-/".contains($0)) })
        else { return nil }
        let components = path.dropFirst(directory.count).split(separator: "/", omittingEmptySubsequences: false)
        guard components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else { return nil }
        return address
    }

    private static func gnomeLocksScreen(
        _ session: GraphicalSession, account: PasswdEntry?, _ root: SystemRoot
    ) -> Bool? {
        guard let run = gsettingsRun(uid: session.uid, account: account, sessionEnvironment: session.environment, root)
        else { return nil }
        let gsettings = { (schema: String, key: String) in
            root.run(
                setprivPath, run.setprivArguments + ["get", schema, key],
                environment: run.environment, inheritingEnvironment: false
            ).map {
                $0.trimmingWhitespace()
            }
        }
        guard let lockEnabled = gsettings("org.gnome.desktop.screensaver", "lock-enabled") else { return nil }
        switch lockEnabled {
        case "false": return false
        case "true": break
        default: return nil
        }
        // "uint32 300": seconds of inactivity before the session counts as idle and the screen blanks.
        guard let idleDelay = gsettings("org.gnome.desktop.session", "idle-delay")?.split(separator: " ").last,
            let seconds = Int(idleDelay)
        else { return nil }
        return seconds > 0
    }

    // MARK: Remembered answer

    private static func loadLastKnown(_ stateDirectory: String) -> LastKnown? {
        let url = URL(fileURLWithPath: stateDirectory).appendingPathComponent(stateFileName)
        guard let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(LastKnown.self, from: data)
    }

    /// Best effort: without a writable state directory the plugin still answers, it only forgets.
    private static func saveLastKnown(_ lastKnown: LastKnown, _ stateDirectory: String) {
        guard let data = try? JSONEncoder().encode(lastKnown) else { return }
        let directory = URL(fileURLWithPath: stateDirectory)
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try? data.write(to: directory.appendingPathComponent(stateFileName), options: .atomic)
    }
}
