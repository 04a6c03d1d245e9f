import Foundation

/// `screenlock`: whether the screens of the people using the device lock by themselves when idle.
///
/// Only someone in a graphical session has a screen to lock. A graphical session is a process of a
/// person (uid 1000 or more) with DISPLAY or WAYLAND_DISPLAY in its /proc/PID/environ. For each such
/// person, in this order:
/// - a running `xautolock` or `swayidle` (argv[0] in /proc/PID/cmdline) locks the screen: enabled;
/// - with GNOME Shell running, `gsettings` (run with that session's HOME, XDG and D-Bus variables, so
///   it reads that person's settings) answers: enabled when org.gnome.desktop.screensaver
///   lock-enabled is true and org.gnome.desktop.session idle-delay is not 0 (0 means "never idle");
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
        let userNames = Dictionary(
            (PasswdFile.read(context.root) ?? []).map { ($0.uid, $0.name) }, uniquingKeysWith: { first, _ in first }
        )
        let sessions = graphicalSessions(context.root).map { graphicalSession in
            session(graphicalSession, user: userNames[graphicalSession.uid] ?? String(graphicalSession.uid), context.root)
        }
        let enabled = Knowable.all(sessions.map(\.enabled))
        var lastKnown = loadLastKnown(context.stateDirectory)
        if case .known(let answer) = enabled {
            let seenNow = LastKnown(enabled: answer, at: rfc3339(Date()))
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

    private static func session(_ session: GraphicalSession, user: String, _ root: SystemRoot) -> Session {
        if let locker = idleLockers.first(where: session.programs.contains) {
            return Session(user: user, enabled: .known(true), locker: locker)
        }
        if session.programs.contains("gnome-shell") {
            let enabled = gnomeLocksScreen(session.environment, root)
            return Session(user: user, enabled: Knowable(enabled), locker: enabled == true ? "gnome" : nil)
        }
        return Session(user: user, enabled: .known(false), locker: nil)
    }

    // MARK: GNOME

    /// The variables that make gsettings read a given person's settings rather than the caller's.
    private static let settingsVariables = [
        "HOME", "USER", "LOGNAME", "XDG_CONFIG_HOME", "XDG_DATA_DIRS", "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS",
    ]

    private static func gnomeLocksScreen(_ sessionEnvironment: [String: String], _ root: SystemRoot) -> Bool? {
        let environment = sessionEnvironment.filter { settingsVariables.contains($0.key) }
        let gsettings = { (schema: String, key: String) in
            root.run("/usr/bin/gsettings", ["get", schema, key], environment: environment).map {
                $0.trimmingCharacters(in: .whitespacesAndNewlines)
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
