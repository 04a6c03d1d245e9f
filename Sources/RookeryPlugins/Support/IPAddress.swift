import FoundationEssentials
import Glibc
import RookeryCore

/// An IPv4 or IPv6 address as the kernel writes it in /proc/net, turned into its usual text form.
struct IPAddress: Equatable {
    /// 4 bytes for IPv4, 16 for IPv6, in network order.
    let bytes: [UInt8]

    /// From /proc/net/{tcp,tcp6,udp,udp6,route}: hex of the address as the kernel stores it, in 32-bit
    /// words of host byte order. Rookery clients run on little-endian machines (x86_64, aarch64), so
    /// each word's bytes are reversed: "0100007F" is 127.0.0.1.
    init?(procNetHex hex: Substring) {
        guard hex.count == 8 || hex.count == 32, let raw = Hex.bytes(hex) else { return nil }
        bytes = stride(from: 0, to: raw.count, by: 4).flatMap { raw[$0..<$0 + 4].reversed() }
    }

    /// From /proc/net/if_inet6 and /proc/net/ipv6_route: 32 hex digits in network order.
    init?(networkOrderHex hex: Substring) {
        guard hex.count == 32, let raw = Hex.bytes(hex) else { return nil }
        bytes = raw
    }

    var isIPv4: Bool { bytes.count == 4 }

    /// 127.0.0.0/8, ::1, and 127.x written as an IPv4-mapped IPv6 address (::ffff:127.0.0.1).
    var isLoopback: Bool {
        if isIPv4 { return bytes[0] == 127 }
        let mappedPrefix: [UInt8] = Array(repeating: 0, count: 10) + [0xFF, 0xFF]
        if Array(bytes[0..<12]) == mappedPrefix { return bytes[12] == 127 }
        return bytes == Array(repeating: 0, count: 15) + [1]
    }

    var isUnspecified: Bool { bytes.allSatisfy { $0 == 0 } }

    /// "192.168.1.10", "fe80::1".
    var text: String {
        if isIPv4 { return bytes.map(String.init).joined(separator: ".") }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let converted = bytes.withUnsafeBytes { address in
            inet_ntop(AF_INET6, address.baseAddress, &buffer, socklen_t(buffer.count))
        }
        guard converted != nil else { return "unknown" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
