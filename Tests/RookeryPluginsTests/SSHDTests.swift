import Foundation
import Testing

@Suite("sshd")
struct SSHDTests {
    @Test("drop-ins included first override the main file, and the first value wins among them")
    func includeOverridesMainFile() throws {
        let report = try Sandbox(fixture: "sshd-include").run("sshd")
        // 10-hardening.conf says no (as "passwordauthentication no"); 50-cloud-init.conf's yes and the
        // main file's yes come later and lose; the Match block's yes is not global.
        #expect(report["password_authentication"] == false)
        // "PermitRootLogin = no" in 10-hardening.conf; README is not a *.conf file.
        #expect(report["permit_root_login"] == "no")
        #expect(report["running"] == true)  // /proc/812/comm is "sshd"
    }

    @Test("unset settings take sshd's defaults")
    func defaults() throws {
        let report = try Sandbox(fixture: "sshd-defaults").run("sshd")
        #expect(report == ["running": false, "password_authentication": true, "permit_root_login": "prohibit-password"])
    }

    @Test("a Match block in an included file ends with that file")
    func matchEndsWithIncludedFile() throws {
        let sandbox = try Sandbox(fixture: "sshd-defaults")
        try sandbox.root.write(
            "/etc/ssh/sshd_config",
            """
            Include users.conf
            PermitRootLogin without-password
            PasswordAuthentication no
            """)
        try sandbox.root.write(
            "/etc/ssh/users.conf",
            """
            Match User deploy
                PermitRootLogin yes
                PasswordAuthentication yes
            """)
        let report = try sandbox.run("sshd")
        #expect(report["permit_root_login"] == "prohibit-password")  // the old name, reported by its new one
        #expect(report["password_authentication"] == false)
    }

    @Test("a file that includes itself does not loop")
    func selfInclude() throws {
        let sandbox = try Sandbox(fixture: "sshd-defaults")
        try sandbox.root.write("/etc/ssh/sshd_config", "Include sshd_config\nPasswordAuthentication no\n")
        #expect(try sandbox.run("sshd")["password_authentication"] == false)
    }

    @Test("running is also told by /run/sshd.pid naming a live process")
    func runningFromPidFile() throws {
        let sandbox = try Sandbox(fixture: "sshd-defaults")
        try sandbox.root.addProcess(pid: 977, name: "sshd-session")
        try sandbox.root.write("/run/sshd.pid", "977\n")
        #expect(try sandbox.run("sshd")["running"] == true)
        try sandbox.root.write("/run/sshd.pid", "978\n")
        #expect(try sandbox.run("sshd")["running"] == false)
    }

    @Test("without sshd_config the settings are \"unknown\"")
    func noConfig() throws {
        let sandbox = try Sandbox(fixture: "sshd-defaults")
        try sandbox.root.remove("/etc/ssh/sshd_config")
        let report = try sandbox.run("sshd")
        #expect(report["password_authentication"] == "unknown")
        #expect(report["permit_root_login"] == "unknown")
        #expect(report["running"] == false)
    }
}
