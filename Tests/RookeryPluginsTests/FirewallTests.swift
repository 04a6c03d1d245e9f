import Foundation
import Testing

@Suite("firewall")
struct FirewallTests {
    @Test("ufw enabled with a deny default is an active firewall that drops")
    func ufwDeny() throws {
        let report = try Sandbox(fixture: "ufw-deny").run("firewall")
        #expect(report == ["active": true, "backends": ["ufw"], "default_input_policy": "drop"])
    }

    @Test("ufw installed but not enabled filters nothing")
    func ufwDisabled() throws {
        let sandbox = try Sandbox(fixture: "ufw-deny")
        try sandbox.root.write("/etc/ufw/ufw.conf", "ENABLED=no\nLOGLEVEL=low\n")
        #expect(try sandbox.run("firewall") == ["active": false, "backends": [], "default_input_policy": "accept"])
    }

    @Test("an nftables chain with an accept policy that ends in reject rejects; an empty iptables is inactive")
    func nftablesFirewalld() throws {
        let report = try Sandbox(fixture: "nftables-firewalld").run("firewall")
        // The arp family's input chain filters ARP, not IP traffic, and does not count.
        #expect(report == ["active": true, "backends": ["nftables"], "default_input_policy": "reject"])
    }

    @Test("iptables with a DROP policy and rules is active; the strictest backend wins")
    func iptablesDrop() throws {
        let sandbox = try Sandbox(fixture: "nftables-firewalld")
        try sandbox.root.writeExecutable(
            "/usr/sbin/iptables",
            script: """
                printf -- '-P INPUT DROP\\n-A INPUT -i lo -j ACCEPT\\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\\n'
                """)
        let report = try sandbox.run("firewall")
        #expect(report == ["active": true, "backends": ["iptables", "nftables"], "default_input_policy": "drop"])
    }

    @Test("a tool that fails (not root) is not counted; with nothing to look at the answer is \"unknown\"")
    func nothingExamined() throws {
        let sandbox = try Sandbox(fixture: nil)
        try sandbox.root.writeExecutable("/usr/sbin/nft", script: "echo 'Operation not permitted' >&2; exit 1")
        #expect(try sandbox.run("firewall") == ["active": "unknown", "backends": [], "default_input_policy": "unknown"])
    }
}
