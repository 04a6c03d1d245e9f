import Foundation
import RookeryCore

/// Writes one device's nftables table from firewall.yml and the addresses the members of each
/// source group report. Everything in the text is either fixed here, a number, a group name
/// (checked when the file was read) or an address inet_ntop wrote.
struct FirewallRenderer {
    let config: FirewallConfig
    let snapshot: FleetSnapshot

    /// The table for a device in `groups`; nil when neither a rule nor a group default names one of them.
    func table(for groups: Set<String>) -> String? {
        let named = config.groupPolicies.filter { groups.contains($0.name) }
        let rules = config.rules.filter { groups.contains($0.group) }
        guard !named.isEmpty || !rules.isEmpty else { return nil }
        let policy = named.last?.policy ?? config.defaultPolicy
        var lines = [
            "table inet rookery {",
            "\tchain input {",
            "\t\ttype filter hook input priority filter; policy \(policy.rawValue);",
            "\t\tct state established,related accept",
            "\t\tiif \"lo\" accept",
            "\t\tmeta l4proto { icmp, ipv6-icmp } accept"
        ]
        for rule in rules { lines += self.lines(rule) }
        lines += ["\t}", "}"]
        return lines.joined(separator: "\n") + "\n"
    }

    private func lines(_ rule: FirewallConfig.Rule) -> [String] {
        let source = rule.fromGroup.map { "from group \($0)" } ?? "from anywhere"
        var lines = ["\t\t# group \(rule.group): \(ports(rule)) \(source)"]
        let matches = [("tcp", rule.tcp), ("udp", rule.udp)].filter { !$0.1.isEmpty }
            .map { "\($0.0) dport { \($0.1.map(String.init).joined(separator: ", ")) }" }
        guard let from = rule.fromGroup else { return lines + matches.map { "\t\t\($0) accept" } }
        let (ipv4, ipv6) = snapshot.addresses(of: from)
        if ipv4.isEmpty && ipv6.isEmpty { lines.append("\t\t# no member of group \(from) reports an address yet") }
        for match in matches {
            if !ipv4.isEmpty { lines.append("\t\tip saddr { \(ipv4.joined(separator: ", ")) } \(match) accept") }
            if !ipv6.isEmpty { lines.append("\t\tip6 saddr { \(ipv6.joined(separator: ", ")) } \(match) accept") }
        }
        return lines
    }

    private func ports(_ rule: FirewallConfig.Rule) -> String {
        [("tcp", rule.tcp), ("udp", rule.udp)].filter { !$0.1.isEmpty }
            .map { "\($0.0) \($0.1.map(String.init).joined(separator: ","))" }.joined(separator: " ")
    }
}
