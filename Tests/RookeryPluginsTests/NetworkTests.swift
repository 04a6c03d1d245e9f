import Foundation
import Testing

@Suite("network")
struct NetworkTests {
    @Test("interfaces with addresses from `ip -j addr`, and default routes by lowest metric")
    func withIP() throws {
        let report = try Sandbox(fixture: "debian-laptop").run("network")
        #expect(
            report["interfaces"] == [
                ["name": "eth0", "mac": "8c:8c:aa:12:34:56", "state": "down", "ipv4": [], "ipv6": []],
                [
                    "name": "wlan0", "mac": "f4:26:79:ab:cd:ef", "state": "up", "ipv4": ["192.168.0.23/24"],
                    "ipv6": ["2001:db8:0:1::42/64", "fe80::f626:79ff:feab:cdef/64"]
                ]
            ])
        #expect(report["ipv4_default_route"] == ["interface": "wlan0", "gateway": "192.168.0.1"])
        #expect(report["ipv6_default_route"] == ["interface": "wlan0", "gateway": "fe80::211:22ff:fe33:4455"])
    }

    @Test("without `ip`, IPv4 is \"unknown\" and IPv6 comes from /proc/net/if_inet6")
    func withoutIP() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        try sandbox.root.remove("/usr/sbin/ip")
        let wlan0 = try sandbox.run("network")["interfaces"].first(where: "name", is: "wlan0")
        #expect(wlan0["ipv4"] == "unknown")
        #expect(wlan0["ipv6"] == ["fe80::f626:79ff:feab:cdef/64", "2001:db8:0:1::42/64"])
    }

    @Test("no default route is null, an unreadable route table \"unknown\"")
    func noDefaultRoute() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        try sandbox.root.write("/proc/net/route", "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n")
        try sandbox.root.remove("/proc/net/ipv6_route")
        let report = try sandbox.run("network")
        #expect(report["ipv4_default_route"] == nil)
        #expect(report["ipv6_default_route"] == "unknown")
    }
}
