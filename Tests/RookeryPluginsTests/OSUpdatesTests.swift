import Foundation
import Testing

@Suite("os_updates")
struct OSUpdatesTests {
    @Test("apt: pending and security updates, a newer release, a pending reboot")
    func aptWithSecurityUpdates() throws {
        let report = try Sandbox(fixture: "apt-security").run("os_updates")
        #expect(
            report == [
                "manager": "apt",
                "pending": 4,
                "security": 2,
                "packages": ["libssl3", "openssl", "linux-image-5.15.0-119-generic", "tzdata"],
                "security_packages": ["libssl3", "openssl"],
                "release_upgrade": true,
                "reboot_required": true
            ])
    }

    @Test("apt: nothing pending, no new release, no reboot")
    func aptUpToDate() throws {
        let sandbox = try Sandbox(fixture: "apt-security")
        try sandbox.root.writeExecutable(
            "/usr/bin/apt-get", script: "echo 'Reading package lists...'; echo '0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.'")
        try sandbox.root.writeExecutable(
            "/usr/bin/do-release-upgrade", script: "echo 'Checking for a new Ubuntu release'; echo 'No new release found.'; exit 1")
        try sandbox.root.remove("/run/reboot-required")
        let report = try sandbox.run("os_updates")
        #expect(report["pending"] == 0)
        #expect(report["security"] == 0)
        #expect(report["packages"] == [])
        #expect(report["release_upgrade"] == false)
        #expect(report["reboot_required"] == false)
    }

    @Test("apt: a failing simulation and no do-release-upgrade (Debian) are \"unknown\"")
    func aptFailing() throws {
        let sandbox = try Sandbox(fixture: "apt-security")
        try sandbox.root.writeExecutable("/usr/bin/apt-get", script: "echo 'E: Could not open lock file' >&2; exit 100")
        try sandbox.root.remove("/usr/bin/do-release-upgrade")
        let report = try sandbox.run("os_updates")
        #expect(report["manager"] == "apt")
        #expect(report["pending"] == "unknown")
        #expect(report["security_packages"] == "unknown")
        #expect(report["release_upgrade"] == "unknown")
    }

    @Test("dnf: check-update exiting 100, security advisories, needs-restarting")
    func dnf() throws {
        let report = try Sandbox(fixture: "dnf-updates").run("os_updates")
        #expect(
            report == [
                "manager": "dnf",
                "pending": 3,
                "security": 2,
                "packages": ["curl", "kernel-core", "libcurl"],
                "security_packages": ["curl", "libcurl"],
                "release_upgrade": "unknown",
                "reboot_required": false
            ])
    }

    @Test("pacman: checkupdates lists packages; security is \"unknown\"")
    func pacman() throws {
        let sandbox = try Sandbox(fixture: nil)
        try sandbox.root.writeExecutable("/usr/bin/pacman", script: "exit 1")
        try sandbox.root.writeExecutable(
            "/usr/bin/checkupdates",
            script: """
                echo 'linux 6.8.1.arch1-1 -> 6.8.2.arch1-1'
                echo 'openssl 3.2.1-1 -> 3.3.0-1'
                """)
        let report = try sandbox.run("os_updates")
        #expect(report["manager"] == "pacman")
        #expect(report["packages"] == ["linux", "openssl"])
        #expect(report["pending"] == 2)
        #expect(report["security"] == "unknown")
    }

    @Test("no known package manager is \"unknown\"")
    func noPackageManager() throws {
        #expect(try Sandbox(fixture: nil).run("os_updates") == "unknown")
    }
}
