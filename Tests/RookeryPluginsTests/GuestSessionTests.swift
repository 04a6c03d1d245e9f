import Foundation
import Testing

@Suite("guest_session")
struct GuestSessionTests {
    @Test("LightDM: a later file turning allow-guest off wins over the distribution's default")
    func lightDMGuestDisabled() throws {
        let sandbox = try Sandbox(fixture: "lightdm-no-guest")
        try sandbox.root.symlink("/etc/systemd/system/display-manager.service", to: "/lib/systemd/system/lightdm.service")
        #expect(try sandbox.run("guest_session") == ["display_manager": "lightdm", "enabled": false])
    }

    @Test("LightDM: with allow-guest left unset, its default lets guests in")
    func lightDMDefault() throws {
        let sandbox = try Sandbox(fixture: "lightdm-no-guest")
        try sandbox.root.remove("/etc/lightdm/lightdm.conf.d/90-site.conf")
        try sandbox.root.remove("/usr/share/lightdm/lightdm.conf.d/50-guest-wrapper.conf")
        #expect(try sandbox.run("guest_session") == ["display_manager": "lightdm", "enabled": true])
    }

    @Test("GDM (named in /etc/X11/default-display-manager) with automatic login counts as enabled")
    func gdmAutomaticLogin() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        #expect(try sandbox.run("guest_session") == ["display_manager": "gdm", "enabled": true])
        try sandbox.root.write("/etc/gdm3/custom.conf", "[daemon]\nAutomaticLoginEnable=false\nTimedLoginEnable=false\n")
        #expect(try sandbox.run("guest_session") == ["display_manager": "gdm", "enabled": false])
    }

    @Test("a display manager not examined is \"unknown\"; none at all is false")
    func otherOrNone() throws {
        let sandbox = try Sandbox(fixture: nil)
        #expect(try sandbox.run("guest_session") == ["display_manager": "none", "enabled": false])
        try sandbox.root.symlink("/etc/systemd/system/display-manager.service", to: "/usr/lib/systemd/system/sddm.service")
        #expect(try sandbox.run("guest_session") == ["display_manager": "sddm", "enabled": "unknown"])
    }
}
