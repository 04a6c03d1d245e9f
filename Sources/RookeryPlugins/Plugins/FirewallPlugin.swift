import FoundationEssentials
import RookeryCore

/// `firewall`: whether a firewall filters incoming traffic, and what it does with traffic no rule allows.
///
/// Three backends are looked at, and each one found is judged on its own:
/// - nftables: `nft list ruleset`; the chains hooked on "input" (families ip, ip6, inet), their
///   policy and how many rules they hold. firewalld uses nftables and is seen here.
/// - iptables: `iptables -S INPUT`; the "-P INPUT ..." policy and the "-A INPUT" rules. With the
///   iptables-nft variant the same rules show in both.
/// - ufw: /etc/ufw/ufw.conf (ENABLED=yes) and DEFAULT_INPUT_POLICY in /etc/default/ufw.
/// A backend is active when its input policy is not accept or it has input rules. The default input
/// policy is what happens to a packet no rule accepts: the chain policy, or the verdict of a last rule
/// that drops or rejects everything (firewalld ends its chain that way under an accept policy). Across
/// backends the strictest wins, since a packet must pass all of them.
/// Listing rules takes root; a tool that cannot be run is simply not counted.
struct FirewallPlugin: BuiltinPlugin {
    static let name = "firewall"

    struct Report: Encodable {
        let active: Knowable<Bool>
        /// The active backends: "iptables", "nftables", "ufw".
        let backends: [String]
        let defaultInputPolicy: Knowable<Policy>
    }

    /// Ordered from the most to the least permissive: `max` is the strictest.
    enum Policy: String, Encodable, Comparable {
        case accept, reject, drop

        private var strictness: Int {
            switch self {
            case .accept: 0
            case .reject: 1
            case .drop: 2
            }
        }

        static func < (lhs: Policy, rhs: Policy) -> Bool {
            lhs.strictness < rhs.strictness
        }
    }

    /// What one backend does to incoming traffic.
    private struct Backend {
        let name: String
        let policy: Policy
        let isActive: Bool

        /// A rule set filters when it turns something away by default or has rules to apply.
        init(name: String, policy: Policy, ruleCount: Int) {
            self.init(name: name, policy: policy, isActive: policy != .accept || ruleCount > 0)
        }

        init(name: String, policy: Policy, isActive: Bool) {
            self.name = name
            self.policy = policy
            self.isActive = isActive
        }
    }

    static func collect(_ context: PluginContext) -> Report {
        let root = context.root
        let examined = [nftables(root), iptables(root), ufw(root)].compactMap { $0 }
        guard !examined.isEmpty else {
            return Report(active: .unknown, backends: [], defaultInputPolicy: .unknown)
        }
        let active = examined.filter(\.isActive)
        return Report(
            active: .known(!active.isEmpty),
            backends: active.map(\.name).sorted(),
            defaultInputPolicy: .known(active.map(\.policy).max() ?? .accept)
        )
    }

    // MARK: nftables

    private static let ipFamilies: Set<String> = ["ip", "ip6", "inet"]

    /// Reads the text form, which every nft build prints (JSON output is a build option):
    ///
    ///     table inet filter {
    ///         chain input {
    ///             type filter hook input priority filter; policy drop;
    ///             ct state established,related accept
    ///         }
    ///     }
    private static func nftables(_ root: SystemRoot) -> Backend? {
        guard let ruleset = root.run("/usr/sbin/nft", ["list", "ruleset"]) ?? root.run("/sbin/nft", ["list", "ruleset"]) else {
            return nil
        }
        var family = ""
        var chain: [String]? = nil  // the lines of the chain being read
        var depth = 0  // brace depth inside that chain
        var inputChains: [InputChain] = []
        for rawLine in ruleset.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingWhitespace()
            let words = line.split(separator: " ")
            if chain == nil {
                if words.first == "table", words.count >= 3 { family = String(words[1]) }
                if words.first == "chain", line.hasSuffix("{") {
                    chain = []
                    depth = 1
                }
                continue
            }
            depth += line.filter { $0 == "{" }.count - line.filter { $0 == "}" }.count
            if depth <= 0 {
                if let lines = chain, ipFamilies.contains(family), let input = InputChain(lines) { inputChains.append(input) }
                chain = nil
            } else if !line.isEmpty {
                chain?.append(line)
            }
        }
        return Backend(
            name: "nftables",
            policy: inputChains.map(\.effectivePolicy).max() ?? .accept,
            ruleCount: inputChains.reduce(0) { $0 + $1.ruleCount }
        )
    }

    /// A base chain on the input hook.
    private struct InputChain {
        let policy: Policy
        let rules: [String]

        /// nil unless the chain's "type ... hook input ...; policy ...;" line says it is one.
        init?(_ lines: [String]) {
            guard let header = lines.first(where: { $0.hasPrefix("type ") }), header.contains(" hook input ") else {
                return nil
            }
            policy = header.contains("policy drop") ? .drop : .accept
            rules = lines.filter { !$0.hasPrefix("type ") && !$0.hasPrefix("#") && !$0.hasPrefix("comment ") }
        }

        var ruleCount: Int { rules.count }

        /// The policy, made stricter by a last rule that is a bare "drop" or "reject ...".
        var effectivePolicy: Policy {
            guard let last = rules.last else { return policy }
            if last == "drop" { return max(policy, .drop) }
            if last == "reject" || last.hasPrefix("reject with ") { return max(policy, .reject) }
            return policy
        }
    }

    // MARK: iptables

    /// `iptables -S INPUT` prints "-P INPUT DROP" and then one "-A INPUT ..." line per rule.
    private static func iptables(_ root: SystemRoot) -> Backend? {
        guard let listing = root.run("/usr/sbin/iptables", ["-S", "INPUT"]) ?? root.run("/sbin/iptables", ["-S", "INPUT"]) else {
            return nil
        }
        let lines = listing.split(whereSeparator: \.isNewline).map { $0.trimmingWhitespace() }
        let rules = lines.filter { $0.hasPrefix("-A INPUT") }
        var policy: Policy = lines.contains("-P INPUT DROP") ? .drop : .accept
        if rules.last == "-A INPUT -j DROP" {
            policy = .drop
        } else if let last = rules.last, last == "-A INPUT -j REJECT" || last.hasPrefix("-A INPUT -j REJECT ") {
            policy = max(policy, .reject)
        }
        return Backend(name: "iptables", policy: policy, ruleCount: rules.count)
    }

    // MARK: ufw

    /// ufw is a front end to iptables/nftables; it is reported on its own because its settings say
    /// what the administrator meant even where listing rules is not possible.
    private static func ufw(_ root: SystemRoot) -> Backend? {
        guard let conf = root.readFile("/etc/ufw/ufw.conf") else { return nil }
        guard ShellAssignments(conf)["ENABLED"]?.lowercased() == "yes" else {
            return Backend(name: "ufw", policy: .accept, isActive: false)
        }
        let defaults = ShellAssignments(root.readFile("/etc/default/ufw") ?? "")
        // ufw's own default input policy is DROP.
        let policy = Policy(rawValue: defaults["DEFAULT_INPUT_POLICY"]?.lowercased() ?? "drop") ?? .drop
        // An enabled ufw filters even with an accept policy: its rules live in its own files.
        return Backend(name: "ufw", policy: policy, isActive: true)
    }
}
