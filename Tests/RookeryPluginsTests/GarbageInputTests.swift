import Foundation
import RookeryTestSupport
import Testing

@testable import RookeryPlugins

/// Plugins read whatever the machine holds: a truncated file, a binary blob where text belongs, a
/// tool printing nonsense. None of it may crash a plugin or make it print anything but JSON.
@Suite("garbage input")
struct GarbageInputTests {
    /// Every file some plugin reads.
    static let filesRead = [
        "/etc/os-release", "/usr/lib/os-release", "/proc/sys/kernel/osrelease", "/proc/sys/kernel/arch",
        "/sys/class/dmi/id/sys_vendor", "/sys/class/dmi/id/product_name", "/sys/class/dmi/id/product_serial",
        "/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/proc/uptime", "/etc/passwd", "/run/utmp",
        "/proc/mounts", "/proc/swaps", "/sys/block/dm-0/dm/uuid", "/sys/block/dm-0/dm/name",
        "/sys/block/dm-0/slaves/dm-0/dev", "/sys/class/net/eth0/address", "/sys/class/net/eth0/operstate",
        "/proc/net/route", "/proc/net/ipv6_route", "/proc/net/if_inet6", "/proc/net/tcp", "/proc/net/tcp6",
        "/proc/net/udp", "/proc/net/udp6", "/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/a.conf",
        "/run/sshd.pid", "/etc/ufw/ufw.conf", "/etc/default/ufw", "/etc/lightdm/lightdm.conf",
        "/etc/gdm3/custom.conf", "/etc/X11/default-display-manager", "/proc/1/comm", "/proc/1/cmdline",
        "/proc/1/environ", "/proc/1/status", "/run/reboot-required"
    ]

    /// Every command some plugin runs.
    static let commandsRun = [
        "/usr/sbin/ip", "/usr/sbin/nft", "/usr/sbin/iptables", "/usr/bin/apt-get", "/usr/bin/do-release-upgrade",
        "/usr/bin/gsettings", "/usr/bin/setpriv"
    ]

    @Test("random bytes in every file and from every command", arguments: BuiltinPlugins.names)
    func randomBytes(plugin: String) throws {
        let sandbox = try Sandbox(fixture: nil)
        var random = SeededRandom(seed: 0x5EED)
        for path in Self.filesRead {
            try sandbox.root.write(path, data: random.bytes(count: 4096))
        }
        try sandbox.root.write("/garbage.bin", data: random.bytes(count: 4096))
        for command in Self.commandsRun {
            try sandbox.root.writeExecutable(command, script: "cat \"$(dirname \"$0\")/../../garbage.bin\"")
        }
        try Data(random.bytes(count: 512)).write(to: URL(fileURLWithPath: sandbox.stateDirectory + "/screenlock.json"))
        try expectJSON(from: plugin, in: sandbox)
    }

    @Test("empty files everywhere", arguments: BuiltinPlugins.names)
    func emptyFiles(plugin: String) throws {
        let sandbox = try Sandbox(fixture: nil)
        for path in Self.filesRead {
            try sandbox.root.write(path, "")
        }
        for command in Self.commandsRun {
            try sandbox.root.writeExecutable(command, script: "exit 0")
        }
        try expectJSON(from: plugin, in: sandbox)
    }

    @Test("text shaped almost like the real thing", arguments: BuiltinPlugins.names)
    func nearMisses(plugin: String) throws {
        let sandbox = try Sandbox(fixture: nil)
        let nearMiss = """
            \t  \t
            ===
            "unterminated
            Include /etc/ssh/sshd_config
            Match
            [Seat:*
            allow-guest
            btime -99999999999999999999999
            btime 99999999999999
            MemTotal: 99999999999999999999 kB
            MemTotal: 9223372036854775807 kB
            processor :
            0: GGGGGGGG:ZZZZ 00000000:0000 0A 0 0 0 0 0 -1
            1: 0100007F: 00000000:0000 0A 0 0 0 0 0 12
            2: 0100007F0100007F0100007F0100007F01:FFFFFFFFFFFF 0 0A 0 0 0 0 0 12
            eth0 00000000 XYZ 0003 0 0 -1 00000000
            00000000000000000000000000000000 00 0 00 0 zz 0 0 zz lo
            /dev/mapper/ / ext4 rw 0 0
            /dev/../../../../etc/passwd /x ext4 rw 0 0
            \\777\\\\ \\040\\0 ext4
            Inst
            Inst (
            Uid:
            Uid: -1 -1
            -P INPUT
            """
        for path in Self.filesRead {
            try sandbox.root.write(path, nearMiss)
        }
        try sandbox.root.symlink("/dev/mapper/loop", to: "loop")
        for command in Self.commandsRun {
            try sandbox.root.writeExecutable(command, script: "cat <<'EOF'\n\(nearMiss)\nEOF\nexit 100")
        }
        try expectJSON(from: plugin, in: sandbox)
    }

    @Test("a huge file is read only up to the limit")
    func hugeFile() throws {
        let sandbox = try Sandbox(fixture: "plain-ext4")
        let line = "/dev/sda1 / ext4 rw,relatime 0 0\n"
        let linesInLimit = SystemRoot.readLimit / line.utf8.count
        try sandbox.root.write("/proc/mounts", String(repeating: line, count: 3 * linesInLimit))
        let output = try BuiltinPlugins.run(name: "disk", root: sandbox.root, stateDirectory: sandbox.stateDirectory)
        // Tens of thousands of entries: plain JSONSerialization checks them faster than the JSON helper.
        let report = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
        let filesystems = try #require(report["filesystems"] as? [[String: Any]])
        #expect(filesystems.count <= linesInLimit + 1)
        #expect(filesystems.first?["mount_point"] as? String == "/")
    }

    private func expectJSON(from plugin: String, in sandbox: Sandbox) throws {
        let output = try sandbox.run(plugin)
        switch output {
        case .object, .string("unknown"): break
        default: Issue.record("\(plugin) printed \(output)")
        }
    }
}
