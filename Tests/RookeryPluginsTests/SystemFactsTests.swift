import Foundation
import Testing

/// The plugins that read a few files each: os_info, hardware, uptime.
@Suite("os_info, hardware, uptime")
struct SystemFactsTests {
    @Test("os_info reads os-release and the kernel's release and architecture")
    func osInfo() throws {
        let report = try Sandbox(fixture: "debian-laptop").run("os_info")
        #expect(
            report == [
                "id": "debian",
                "version_id": "12",
                "pretty_name": "Debian GNU/Linux 12 (bookworm)",
                "version_codename": "bookworm",
                "kernel": "6.1.0-25-amd64",
                "architecture": "x86_64"
            ])
    }

    @Test("os_info falls back to /usr/lib/os-release, and does not ask uname about a fixture tree")
    func osInfoFallbacks() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        try sandbox.root.remove("/etc/os-release")
        try sandbox.root.write("/usr/lib/os-release", "ID=fedora\nVERSION_ID=40\n")
        try sandbox.root.remove("/proc/sys/kernel/arch")
        let report = try sandbox.run("os_info")
        #expect(report["id"] == "fedora")
        #expect(report["version_codename"] == "unknown")
        #expect(report["architecture"] == "unknown")
    }

    @Test("hardware: DMI names, CPU model and count, memory in bytes; the root-only serial is \"unknown\"")
    func hardware() throws {
        let report = try Sandbox(fixture: "debian-laptop").run("hardware")
        #expect(
            report == [
                "vendor": "LENOVO",
                "product": "20XW0055GE",
                "serial": "unknown",
                "cpu_model": "11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz",
                "cpu_count": 2,
                "memory_bytes": 16_524_312_576
            ])
    }

    @Test("uptime: boot time from btime in RFC 3339 UTC, whole seconds up")
    func uptime() throws {
        let report = try Sandbox(fixture: "debian-laptop").run("uptime")
        #expect(report == ["boot_time": "2024-05-01T10:40:00Z", "uptime_seconds": 93784])
    }
}
