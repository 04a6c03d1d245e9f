import Foundation
import Testing

@Suite("screenlock")
struct ScreenlockTests {
    /// Alice's GNOME Shell, as /proc shows it: a graphical process of uid 1000 with her HOME.
    private func addAliceGnomeSession(_ sandbox: Sandbox) throws {
        try sandbox.addProcess(
            pid: 2001, name: "gnome-shell", uid: 1000, commandLine: ["/usr/bin/gnome-shell"],
            environment: ["HOME": "/home/alice", "USER": "alice", "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"]
        )
    }

    @Test("the last known answer is remembered across runs and reported when nobody is logged in")
    func rememberedAcrossRuns() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        try addAliceGnomeSession(sandbox)
        try sandbox.addProcess(pid: 1, name: "systemd", commandLine: ["/sbin/init"])

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
        try sandbox.remove("/proc/2001")
        let second = try sandbox.run("screenlock")
        #expect(second == ["enabled": "unknown", "sessions": [], "last_known": ["enabled": true, "at": seenAt]])
    }

    @Test("with nothing remembered and nobody logged in there is no last_known")
    func nothingRemembered() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        try sandbox.addProcess(pid: 1, name: "systemd", commandLine: ["/sbin/init"])
        #expect(try sandbox.run("screenlock") == ["enabled": "unknown", "sessions": []])
    }

    @Test("xautolock counts as a locker; a session without any locker is not enabled")
    func xautolockAndNoLocker() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        try addAliceGnomeSession(sandbox)
        // Bob runs i3 on X: his terminal has DISPLAY, and xautolock runs for him.
        try sandbox.addProcess(pid: 3001, name: "i3", uid: 1001, commandLine: ["i3"], environment: ["DISPLAY": ":1", "HOME": "/home/bob"])
        try sandbox.addProcess(pid: 3002, name: "xautolock", uid: 1001, commandLine: ["/usr/bin/xautolock", "-time", "5", "-locker", "slock"])
        let locking = try sandbox.run("screenlock")
        #expect(locking["enabled"] == true)
        #expect(locking["sessions"].first(where: "user", is: "bob") == ["user": "bob", "enabled": true, "locker": "xautolock"])

        try sandbox.remove("/proc/3002")
        let notLocking = try sandbox.run("screenlock")
        #expect(notLocking["sessions"].first(where: "user", is: "bob") == ["user": "bob", "enabled": false])
        #expect(notLocking["enabled"] == false)
        #expect(notLocking["last_known"]["enabled"] == false)
    }

    @Test("GNOME with idle-delay 0 never locks; a gsettings that fails is \"unknown\"")
    func gnomeSettings() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        try addAliceGnomeSession(sandbox)
        try sandbox.writeExecutable("/usr/bin/gsettings", script: """
            case "$3" in lock-enabled) echo true ;; idle-delay) echo 'uint32 0' ;; esac
            """)
        #expect(try sandbox.run("screenlock")["enabled"] == false)

        try sandbox.writeExecutable("/usr/bin/gsettings", script: "exit 1")
        #expect(try sandbox.run("screenlock")["sessions"] == [["user": "alice", "enabled": "unknown"]])
    }
}
