import ArgumentParser
import RookeryCore

/// A plugins document shaped like a real laptop's, about 7 KB once serialized. `sequence` changes a
/// few values, so the server records history as it would for a real device.
enum BenchDocument {
    static func plugins(host: String, sequence: Int) -> JSONValue {
        var plugins: [String: JSONValue] = [:]
        plugins["os_info"] = strings([
            "id": "debian", "version_id": "12", "kernel": "6.1.0-27-amd64",
            "pretty_name": "Debian GNU/Linux 12 (bookworm)", "architecture": "x86_64"
        ])
        plugins["hardware"] = strings([
            "vendor": "LENOVO", "product": "20XW0055GE", "serial": "PF-" + host,
            "cpu_model": "11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz"
        ])
        plugins["network"] = .object([
            "interfaces": .array((0..<4).map(interface)),
            "default_route": .string("192.0.2.1")
        ])
        plugins["uptime"] = .object([
            "boot_time": .string("2026-11-20T08:00:00Z"),
            "seconds": .integer(Int64(300_000 + sequence * 60))
        ])
        plugins["users"] = .object(["accounts": .array((0..<3).map(account)), "logged_in": .array([.string("user0")])])
        plugins["hd_encryption"] = .object(["all_encrypted": .bool(true), "mounts": .array((0..<6).map { mount($0, sequence) })])
        plugins["screenlock"] = .object(["enabled": .bool(true), "idle_seconds": .integer(300)])
        plugins["guest_session"] = .object(["enabled": .bool(false), "display_manager": .string("gdm")])
        plugins["os_updates"] = .object([
            "manager": .string("apt"), "pending": .integer(40), "security": .integer(3),
            "packages": .array((0..<80).map { .string("libexample\($0)") }),
            "reboot_required": .bool(false)
        ])
        plugins["firewall"] = strings(["active": "true", "backend": "nftables", "input_policy": "drop"])
        plugins["sshd"] = strings([
            "running": "true", "password_authentication": "no",
            "permit_root_login": "prohibit-password"
        ])
        plugins["listening_ports"] = .array((0..<24).map(port))
        plugins["disk"] = .array((0..<6).map { mount($0, sequence) })
        return .object(plugins)
    }

    /// Refuses a `--document-bytes` the server could never take.
    static func checkSize(_ bytes: Int?) throws {
        guard let bytes, !(1...WireProtocol.defaultMaxBodyBytes).contains(bytes) else { return }
        throw ValidationError("--document-bytes must be between 1 and \(WireProtocol.defaultMaxBodyBytes)")
    }

    /// `plugins` with an `installed_packages` inventory added, long enough that the whole
    /// serialized object reaches `bytes` (within one entry); unchanged when it is that long already.
    static func padded(_ plugins: JSONValue, toBytes bytes: Int) -> JSONValue {
        guard case .object(var fields) = plugins else { return plugins }
        // The new key, its brackets and the comma before it.
        var size = plugins.serializedString.utf8.count + "\"installed_packages\":[],".utf8.count
        var packages: [JSONValue] = []
        while size < bytes {
            let package = JSONValue.object([
                "name": .string("package-\(packages.count)"),
                "version": .string("1.\(packages.count % 40).\(packages.count % 7)-1")
            ])
            size += package.serializedString.utf8.count + (packages.isEmpty ? 0 : 1)
            packages.append(package)
        }
        guard !packages.isEmpty else { return plugins }
        fields["installed_packages"] = .array(packages)
        return .object(fields)
    }

    private static func strings(_ fields: [String: String]) -> JSONValue {
        .object(fields.mapValues(JSONValue.string))
    }

    private static func interface(_ index: Int) -> JSONValue {
        let fields: [String: JSONValue] = [
            "name": .string("eth\(index)"), "mac": .string("52:54:00:12:34:5\(index)"), "state": .string("up"),
            "ipv4": .array([.string("192.0.2.\(10 + index)/24")]),
            "ipv6": .array([.string("2001:db8::\(index)/64"), .string("fe80::5054:ff:fe12:345\(index)/64")])
        ]
        return .object(fields)
    }

    private static func account(_ index: Int) -> JSONValue {
        let fields: [String: JSONValue] = [
            "name": .string("user\(index)"), "uid": .integer(Int64(1000 + index)),
            "home": .string("/home/user\(index)"), "shell": .string("/bin/bash")
        ]
        return .object(fields)
    }

    private static func mount(_ index: Int, _ sequence: Int) -> JSONValue {
        let fields: [String: JSONValue] = [
            "mount_point": .string(index == 0 ? "/" : "/srv/data\(index)"),
            "device": .string("/dev/mapper/vg-lv\(index)"), "filesystem": .string("ext4"),
            "size_bytes": .integer(512_000_000_000), "used_bytes": .integer(Int64(1_000_000 * (sequence + index))),
            "encrypted": .bool(true)
        ]
        return .object(fields)
    }

    private static func port(_ index: Int) -> JSONValue {
        let fields: [String: JSONValue] = [
            "protocol": .string(index % 2 == 0 ? "tcp" : "udp"), "address": .string("0.0.0.0"),
            "port": .integer(Int64(1000 + index * 7)), "program": .string("daemon\(index)")
        ]
        return .object(fields)
    }
}
