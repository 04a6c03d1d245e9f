import Foundation
import Testing

@testable import RookeryPlugins

@Suite("screenlock")
struct ScreenlockTests {
    /// Alice's GNOME Shell, as /proc shows it: a graphical process of uid 1000 with her HOME.
    private func addAliceGnomeSession(_ sandbox: Sandbox) throws {
        try sandbox.root.addProcess(
            pid: 2001, name: "gnome-shell", uid: 1000, commandLine: ["/usr/bin/gnome-shell"],
            environment: ["HOME": "/home/alice", "USER": "alice", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"]
        )
    }

    @Test("the last known answer is remembered across runs and reported when nobody is logged in")
    func rememberedAcrossRuns() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        try addAliceGnomeSession(sandbox)
        try sandbox.root.addProcess(pid: 1, name: "systemd", commandLine: ["/sbin/init"])

        let first = try sandbox.run("screenlock")
        #expect(first["enabled"] == true)
        #expect(first["sessions"] == [["user": "alice", "enabled": true, "locker": "gnome"]])
        #expect(first["last_known"]["enabled"] == true)
        let seenAt = first["last_known"]["at"]
        guard case .string(let timestamp) = seenAt else {
            Issue.record("last_known.at is \(seenAt)")
            return
        }
        #expect(ISO8601DateFormatter().date(from: timestamp) != nil)

        // Alice logs out: nobody has a screen to lock, and the last answer stands in.
        try sandbox.root.remove("/proc/2001")
        let second = try sandbox.run("screenlock")
        #expect(second == ["enabled": "unknown", "sessions": [], "last_known": ["enabled": true, "at": seenAt]])
    }

    @Test("with nothing remembered and nobody logged in there is no last_known")
    func nothingRemembered() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        try sandbox.root.addProcess(pid: 1, name: "systemd", commandLine: ["/sbin/init"])
        #expect(try sandbox.run("screenlock") == ["enabled": "unknown", "sessions": []])
    }

    @Test("xautolock counts as a locker; a session without any locker is not enabled")
    func xautolockAndNoLocker() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        try addAliceGnomeSession(sandbox)
        // Bob runs i3 on X: his terminal has DISPLAY, and xautolock runs for him.
        try sandbox.root.addProcess(pid: 3001, name: "i3", uid: 1001, commandLine: ["i3"], environment: ["DISPLAY": ":1", "HOME": "/home/bob"])
        try sandbox.root.addProcess(pid: 3002, name: "xautolock", uid: 1001, commandLine: ["/usr/bin/xautolock", "-time", "5", "-locker", "slock"])
        let locking = try sandbox.run("screenlock")
        #expect(locking["enabled"] == true)
        #expect(locking["sessions"].first(where: "user", is: "bob") == ["user": "bob", "enabled": true, "locker": "xautolock"])

        try sandbox.root.remove("/proc/3002")
        let notLocking = try sandbox.run("screenlock")
        #expect(notLocking["sessions"].first(where: "user", is: "bob") == ["user": "bob", "enabled": false])
        #expect(notLocking["enabled"] == false)
        #expect(notLocking["last_known"]["enabled"] == false)
    }

    @Test("GNOME with idle-delay 0 never locks; a gsettings that fails is \"unknown\"")
    func gnomeSettings() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        try addAliceGnomeSession(sandbox)
        try sandbox.root.writeExecutable(
            "/usr/bin/gsettings",
            script: """
                case "$3" in lock-enabled) echo true ;; idle-delay) echo 'uint32 0' ;; esac
                """)
        #expect(try sandbox.run("screenlock")["enabled"] == false)

        try sandbox.root.writeExecutable("/usr/bin/gsettings", script: "exit 1")
        #expect(try sandbox.run("screenlock")["sessions"] == [["user": "alice", "enabled": "unknown"]])
    }

    // MARK: gsettings runs as the session's person

    /// What the fixture's stand-in for setpriv recorded: one entry per call, "uid=UID" and then the
    /// environment it was given as NAME=value lines.
    private func setprivCalls(_ sandbox: Sandbox) -> [[String]] {
        guard let log = sandbox.root.readFile("/setpriv.log") else { return [] }
        return log.components(separatedBy: "\n\n").map { $0.split(separator: "\n").map(String.init) }.filter { !$0.isEmpty }
    }

    @Test("gsettings runs as each session's person, in an environment from /etc/passwd, not the session's")
    func gsettingsRunsAsThePerson() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        // Alice's session points HOME, XDG_* and D-Bus elsewhere: none of it may reach gsettings.
        try sandbox.root.addProcess(
            pid: 2001, name: "gnome-shell", uid: 1000, commandLine: ["/usr/bin/gnome-shell"],
            environment: [
                "WAYLAND_DISPLAY": "wayland-0", "HOME": "/root", "USER": "root", "XDG_CONFIG_HOME": "/etc/evil",
                "XDG_DATA_DIRS": "/etc/evil", "XDG_RUNTIME_DIR": "/run/user/0", "LD_PRELOAD": "/tmp/evil.so",
                "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus"
            ]
        )
        try FileManager.default.createDirectory(atPath: sandbox.root.resolve("/run/user/1000"), withIntermediateDirectories: true)
        // Bob runs GNOME too; the fixture's gsettings answers only for Alice.
        try sandbox.root.addProcess(pid: 3001, name: "gnome-shell", uid: 1001, commandLine: ["gnome-shell"], environment: ["DISPLAY": ":1"])

        let report = try sandbox.run("screenlock")
        #expect(report["sessions"] == [["user": "alice", "enabled": true, "locker": "gnome"], ["user": "bob", "enabled": "unknown"]])

        let calls = setprivCalls(sandbox)
        let alice = calls.filter { $0.first == "uid=1000" }
        let bob = calls.filter { $0.first == "uid=1001" }
        #expect(alice.count == 2)  // lock-enabled, then idle-delay
        #expect(bob.count == 1)  // lock-enabled fails: nothing more is asked
        #expect(alice.count + bob.count == calls.count)
        for call in alice {
            #expect(call.contains("HOME=/home/alice"))
            #expect(call.contains("USER=alice"))
            #expect(call.contains("LOGNAME=alice"))
            #expect(call.contains("XDG_RUNTIME_DIR=/run/user/1000"))
            #expect(call.contains("DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus"))
            #expect(call.contains("PATH=/usr/local/bin:/usr/bin:/bin"))
            #expect(call.contains("LC_ALL=C"))
            #expect(!call.contains { $0.contains("evil") || $0.hasPrefix("XDG_CONFIG_HOME=") || $0.hasPrefix("XDG_DATA_DIRS=") })
        }
        for call in bob {
            #expect(call.contains("HOME=/home/bob"))
            #expect(!call.contains { $0.hasPrefix("DBUS_SESSION_BUS_ADDRESS=") || $0.hasPrefix("XDG_RUNTIME_DIR=") })
        }
    }

    @Test("a D-Bus address that is not the person's own bus under /run/user/UID is not passed on")
    func foreignBusAddressIsDropped() throws {
        for address in ["unix:path=/run/user/1001/bus", "unix:path=/tmp/bus", "tcp:host=203.0.113.7,port=4444"] {
            let sandbox = try Sandbox(fixture: "debian-laptop")
            try sandbox.root.addProcess(
                pid: 2001, name: "gnome-shell", uid: 1000, commandLine: ["/usr/bin/gnome-shell"],
                environment: ["WAYLAND_DISPLAY": "wayland-0", "DBUS_SESSION_BUS_ADDRESS": address]
            )
            #expect(try sandbox.run("screenlock")["enabled"] == true)
            let calls = setprivCalls(sandbox)
            #expect(calls.count == 2)
            #expect(!calls.joined().contains { $0.hasPrefix("DBUS_SESSION_BUS_ADDRESS=") }, "\(address)")
        }
    }

    @Test("only a single unix:path= address under the session's own /run/user/UID is accepted")
    func sessionBusAddresses() {
        let accepted = ["unix:path=/run/user/1000/bus", "unix:path=/run/user/1000/dbus-1/session_bus.socket"]
        for address in accepted {
            #expect(ScreenlockPlugin.sessionBusAddress(address, uid: 1000) == address)
        }
        let refused = [
            "", "unix:path=/run/user/1001/bus", "unix:path=/run/user/10000/bus", "unix:path=/run/user/100/bus",
            "unix:path=/run/user/1000", "unix:path=/run/user/1000/", "unix:path=/run/user/1000//bus",
            "unix:path=/run/user/1000/../0/bus", "unix:path=/run/user/1000/./bus", "unix:path=/run/user/1000/%2e%2e/0/bus",
            "unix:path=/run/user/1000/bus,guid=0123456789abcdef", "unix:path=/run/user/1000/bus;tcp:host=x,port=1",
            "unix:abstract=/run/user/1000/bus", "unix:tmpdir=/run/user/1000", "unixexec:path=/bin/sh",
            "tcp:host=localhost,port=4444", "unix:path=/tmp/bus", "UNIX:path=/run/user/1000/bus",
            "unix:path=/run/user/1000/bus\n", "unix:path=/run/user/1000/b us"
        ]
        for address in refused {
            #expect(ScreenlockPlugin.sessionBusAddress(address, uid: 1000) == nil, "\(address)")
        }
        #expect(ScreenlockPlugin.sessionBusAddress(nil, uid: 1000) == nil)
    }

    @Test("gsettings never runs for uid 0 or without an account of the session's uid")
    func neverAsRoot() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        // A graphical root process running gnome-shell is no person's session.
        try sandbox.root.addProcess(
            pid: 900, name: "gnome-shell", uid: 0, commandLine: ["/usr/bin/gnome-shell"],
            environment: ["WAYLAND_DISPLAY": "wayland-0", "HOME": "/root"]
        )
        #expect(try sandbox.run("screenlock") == ["enabled": "unknown", "sessions": []])
        #expect(!sandbox.root.fileExists("/setpriv.log"))

        let root = PasswdEntry(name: "root", uid: 0, gid: 0, home: "/root", shell: "/bin/bash")
        let alice = PasswdEntry(name: "alice", uid: 1000, gid: 1000, home: "/home/alice", shell: "/bin/bash")
        let noGroup = PasswdEntry(name: "alice", uid: 1000, gid: nil, home: "/home/alice", shell: "/bin/bash")
        #expect(ScreenlockPlugin.gsettingsRun(uid: 0, account: root, sessionEnvironment: [:], sandbox.root) == nil)
        #expect(ScreenlockPlugin.gsettingsRun(uid: 1000, account: root, sessionEnvironment: [:], sandbox.root) == nil)
        #expect(ScreenlockPlugin.gsettingsRun(uid: 1000, account: nil, sessionEnvironment: [:], sandbox.root) == nil)
        #expect(ScreenlockPlugin.gsettingsRun(uid: 1000, account: noGroup, sessionEnvironment: [:], sandbox.root) == nil)
        let run = try #require(ScreenlockPlugin.gsettingsRun(uid: 1000, account: alice, sessionEnvironment: [:], sandbox.root))
        #expect(
            run.setprivArguments == [
                "--reuid=1000", "--regid=1000", "--init-groups", "--no-new-privs", "--", sandbox.root.resolve("/usr/bin/gsettings")
            ])
        #expect(run.environment == ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/home/alice", "USER": "alice", "LOGNAME": "alice"])
    }

    @Test("a person without an account in /etc/passwd, or no setpriv, makes GNOME's answer \"unknown\"")
    func noWayToRunAsThePerson() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        let ranAsRoot = sandbox.path + "/gsettings-ran"
        try sandbox.root.writeExecutable(
            "/usr/bin/gsettings",
            script: """
                touch '\(ranAsRoot)'
                case "$3" in lock-enabled) echo true ;; *) echo 'uint32 300' ;; esac
                """)
        // uid 1500 has no line in the fixture's /etc/passwd.
        try sandbox.root.addProcess(pid: 4001, name: "gnome-shell", uid: 1500, commandLine: ["gnome-shell"], environment: ["DISPLAY": ":2"])
        #expect(try sandbox.run("screenlock")["sessions"] == [["user": "1500", "enabled": "unknown"]])
        #expect(!FileManager.default.fileExists(atPath: ranAsRoot))

        try sandbox.root.remove("/proc/4001")
        try addAliceGnomeSession(sandbox)
        try sandbox.root.remove("/usr/bin/setpriv")
        #expect(try sandbox.run("screenlock")["sessions"] == [["user": "alice", "enabled": "unknown"]])
        #expect(!FileManager.default.fileExists(atPath: ranAsRoot))
    }
}
