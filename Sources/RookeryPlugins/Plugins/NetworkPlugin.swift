import FoundationEssentials

/// `network`: the network interfaces with their addresses, and the default routes.
///
/// Interfaces and their MAC address and state come from /sys/class/net/*. Addresses come from
/// `ip -j addr` (iproute2's JSON output), because the kernel offers no simple file listing IPv4
/// addresses; without `ip`, IPv4 is "unknown" and IPv6 still comes from /proc/net/if_inet6.
/// Default routes come from /proc/net/route and /proc/net/ipv6_route.
struct NetworkPlugin: BuiltinPlugin {
    static let name = "network"

    struct Report: Encodable {
        let interfaces: [Interface]
        /// null when there is no IPv4 default route.
        let ipv4DefaultRoute: Knowable<Route?>
        let ipv6DefaultRoute: Knowable<Route?>
    }

    struct Interface: Encodable {
        let name: String
        let mac: Knowable<String>
        /// The kernel's operstate: "up", "down", "dormant", "unknown" (loopback and some tunnels).
        let state: Knowable<String>
        /// "address/prefix length", e.g. "192.168.1.20/24".
        let ipv4: Knowable<[String]>
        let ipv6: Knowable<[String]>
    }

    struct Route: Encodable {
        let interface: String
        /// Absent for a route without a gateway (a point-to-point link or VPN).
        let gateway: String?
    }

    static func collect(_ context: PluginContext) -> Report {
        let root = context.root
        let addresses = addressesFromIP(root)
        let ipv6FromKernel = addresses == nil ? ipv6AddressesFromKernel(root) : nil
        let interfaces = interfaceNames(root).map { name in
            Interface(
                name: name,
                mac: Knowable(root.readValue("/sys/class/net/\(name)/address")),
                state: Knowable(root.readValue("/sys/class/net/\(name)/operstate")),
                ipv4: Knowable(addresses.map { $0.ipv4[name] ?? [] }),
                ipv6: Knowable(addresses.map { $0.ipv6[name] ?? [] } ?? ipv6FromKernel.map { $0[name] ?? [] })
            )
        }
        return Report(
            interfaces: interfaces,
            ipv4DefaultRoute: Knowable(root.readFile("/proc/net/route").map(ipv4DefaultRoute)),
            ipv6DefaultRoute: Knowable(root.readFile("/proc/net/ipv6_route").map(ipv6DefaultRoute))
        )
    }

    /// Every interface but the loopback one, which every machine has and which says nothing.
    private static func interfaceNames(_ root: SystemRoot) -> [String] {
        root.listDirectory("/sys/class/net").filter { name in
            name != "lo" && root.isDirectory("/sys/class/net/\(name)")
        }
    }

    // MARK: Addresses

    /// Addresses per interface name, by family.
    private struct AddressesByInterface {
        var ipv4: [String: [String]] = [:]
        var ipv6: [String: [String]] = [:]
    }

    /// The parts of `ip -j addr` output used here.
    private struct IPLink: Decodable {
        let ifname: String
        let addrInfo: [IPAddressInfo]?
    }

    private struct IPAddressInfo: Decodable {
        let family: String?
        let local: String?
        let prefixlen: Int?
    }

    /// Every usr-merged distribution has /usr/sbin/ip; older layouts keep it in /sbin or /bin.
    private static let ipExecutables = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]

    private static func addressesFromIP(_ root: SystemRoot) -> AddressesByInterface? {
        guard let output = ipExecutables.lazy.compactMap({ root.run($0, ["-j", "addr"]) }).first else { return nil }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let links = try? decoder.decode([IPLink].self, from: Data(output.utf8)) else { return nil }
        var addresses = AddressesByInterface()
        for link in links {
            for info in link.addrInfo ?? [] {
                guard let local = info.local, let prefixLength = info.prefixlen else { continue }
                let address = "\(local)/\(prefixLength)"
                switch info.family {
                case "inet": addresses.ipv4[link.ifname, default: []].append(address)
                case "inet6": addresses.ipv6[link.ifname, default: []].append(address)
                default: continue
                }
            }
        }
        return addresses
    }

    /// /proc/net/if_inet6: "fe800000000000000000000000000001 02 40 20 80 eth0"
    /// (address, interface index, prefix length, scope, flags, name; numbers in hex).
    private static func ipv6AddressesFromKernel(_ root: SystemRoot) -> [String: [String]]? {
        guard let text = root.readFile("/proc/net/if_inet6") else { return nil }
        var addresses: [String: [String]] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 6, let address = IPAddress(networkOrderHex: fields[0]),
                let prefixLength = Int(fields[2], radix: 16)
            else { continue }
            addresses[String(fields[5]), default: []].append("\(address.text)/\(prefixLength)")
        }
        return addresses
    }

    // MARK: Default routes

    /// /proc/net/route, after a header line:
    /// "eth0  00000000  0101A8C0  0003  0  0  100  00000000  0  0  0"
    /// (interface, destination, gateway, flags, refcnt, use, metric, mask, ...; addresses in host
    /// byte order hex). The default route has destination and mask 0; the lowest metric wins.
    private static func ipv4DefaultRoute(_ table: String) -> Route? {
        let candidates = table.split(whereSeparator: \.isNewline).dropFirst().compactMap { line -> (metric: Int, route: Route)? in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 8, fields[1] == "00000000", fields[7] == "00000000",
                let gateway = IPAddress(procNetHex: fields[2]), let metric = Int(fields[6])
            else { return nil }
            return (metric, Route(interface: String(fields[0]), gateway: gateway.isUnspecified ? nil : gateway.text))
        }
        return candidates.min { $0.metric < $1.metric }?.route
    }

    /// Route flags from linux/route.h.
    private static let routeIsUp = 0x0001
    private static let routeRejects = 0x0200

    /// /proc/net/ipv6_route: "destination prefix source prefix next-hop metric refcnt use flags
    /// interface", addresses as 32 hex digits in network order, numbers in hex. The default route
    /// has destination ::/0; the kernel also keeps a rejecting ::/0 route on "lo", which is skipped.
    private static func ipv6DefaultRoute(_ table: String) -> Route? {
        let candidates = table.split(whereSeparator: \.isNewline).compactMap { line -> (metric: Int, route: Route)? in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 10, fields[1] == "00",
                let destination = IPAddress(networkOrderHex: fields[0]), destination.isUnspecified,
                let nextHop = IPAddress(networkOrderHex: fields[4]),
                let metric = Int(fields[5], radix: 16), let flags = Int(fields[8], radix: 16),
                flags & routeIsUp != 0, flags & routeRejects == 0
            else { return nil }
            return (metric, Route(interface: String(fields[9]), gateway: nextHop.isUnspecified ? nil : nextHop.text))
        }
        return candidates.min { $0.metric < $1.metric }?.route
    }
}
