import Foundation
import Testing

@testable import RookeryServer

/// X-Forwarded-For from trusted proxies: entries with ports are addresses, and an entry that is
/// not an address leaves no address to judge, never the proxy's.
@Suite struct ForwardedForTests {
    @Test(arguments: [
        ("192.0.2.1", "192.0.2.1"), ("192.0.2.1:5555", "192.0.2.1"), ("192.0.2.1:65535", "192.0.2.1"),
        ("2001:db8::1", "2001:db8::1"), ("[2001:db8::1]", "2001:db8::1"), ("[2001:db8::1]:443", "2001:db8::1"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"), ("[::ffff:192.0.2.1]:80", "::ffff:192.0.2.1")
    ])
    func entriesWithAndWithoutAPortAreAddresses(_ entry: String, _ address: String) {
        #expect(ForwardedFor.address(inEntry: entry) == address)
    }

    @Test(arguments: [
        "unknown", "client.example.org", "_hidden", "192.0.2.1:", "192.0.2.1:65536", "192.0.2.1:http",
        "192.0.2.1:+80", "192.0.2.1:123456", "192.0.2.256", "[2001:db8::1", "[2001:db8::1]443", "[192.0.2.1]",
        "[2001:db8::1]:", "2001:db8::1]:443", "fe80::1%eth0", "192.0.2.1 5", "\"192.0.2.1\"", "1.2.3.4:80:90"
    ])
    func otherEntriesAreNoAddress(_ entry: String) {
        #expect(ForwardedFor.address(inEntry: entry) == nil, "\(entry)")
    }

    static let forwarded = ForwardedFor(trustedProxies: ["203.0.113.5", "2001:db8:ffff::/48"].compactMap(AddressRange.init))

    @Test func theWalkReadsPortsAndStopsAtTheFirstUntrustedAddress() {
        let walk = Self.forwarded
        #expect(walk.clientAddress(peer: "203.0.113.5", header: "10.1.1.1:5555") == "10.1.1.1")
        #expect(walk.clientAddress(peer: "203.0.113.5", header: "10.9.9.9:1234, [2001:db8:ffff::7]:443") == "10.9.9.9")
        // Only the nearest untrusted entry counts; what the client wrote to its left does not.
        #expect(walk.clientAddress(peer: "203.0.113.5", header: "10.1.1.1, 198.51.100.9:80") == "198.51.100.9")
        // Empty list elements are skipped; a proxy without the header is judged by its own address.
        #expect(walk.clientAddress(peer: "203.0.113.5", header: "10.1.1.1, ,") == "10.1.1.1")
        #expect(walk.clientAddress(peer: "203.0.113.5", header: nil) == "203.0.113.5")
        // An untrusted peer's header is ignored.
        #expect(walk.clientAddress(peer: "198.51.100.9", header: "10.1.1.1") == "198.51.100.9")
    }

    @Test func anEntryThatIsNotAnAddressLeavesNoAddressNotTheProxys() {
        let walk = Self.forwarded
        #expect(walk.clientAddress(peer: "203.0.113.5", header: "not-an-address") == nil)
        #expect(walk.clientAddress(peer: "203.0.113.5", header: "10.1.1.1, unknown") == nil)
        #expect(walk.clientAddress(peer: "203.0.113.5", header: "10.1.1.1, unknown, 2001:db8:ffff::9") == nil)
        // Garbage to the left of the first untrusted address is never reached.
        #expect(walk.clientAddress(peer: "203.0.113.5", header: "garbage, 198.51.100.9") == "198.51.100.9")
    }

    /// The decisions: a proxy inside `ip_ranges` must not admit what it forwards for a client
    /// whose entry is garbage, and a client's entry with a port is judged by its address.
    @Test func decisionsBehindAProxy() throws {
        var settings = EndpointAuthenticationTests.settings { $0.ipRanges = ["10.0.0.0/8", "203.0.113.0/24"] }
        settings.trustedProxies = ["203.0.113.5"]
        func allowed(_ header: String) throws -> Bool {
            EndpointAuthenticationTests.isAllowed(
                try EndpointAuthenticationTests.decide(
                    settings, peer: "203.0.113.5", forwardedFor: header))
        }
        #expect(try allowed("10.1.1.1:5555"))
        #expect(try !allowed("198.51.100.9:5555"))
        #expect(try !allowed("not-an-address"))
        #expect(try !allowed("192.0.2.1:99999"))
        #expect(
            try EndpointAuthenticationTests.decide(settings, peer: "203.0.113.5", forwardedFor: "unknown")
                == .refused(user: nil, reason: "no credentials from an unknown address"))
    }
}
