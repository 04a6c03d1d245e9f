import Foundation
import RookeryCore

/// Every accepted device with its groups and the addresses its `network` plugin reports, read
/// in one walk over the fleet: what managed state is rendered from.
public struct FleetSnapshot: Sendable {
    public struct Member: Sendable, Equatable {
        public var device: Device
        public var groups: Set<String>
        /// Global addresses, each as `inet_ntop` writes it; the document's text never reaches a rule.
        public var ipv4: [String]
        public var ipv6: [String]
        /// The `sha256` of the managed state the device says it runs (`managed.sha256` in its document).
        public var runningSHA256: String?
    }

    public let members: [Member]
    /// Every group's members' addresses, worked out once: each device in a rule's group reads them.
    private let addressesByGroup: [String: (ipv4: [String], ipv6: [String])]

    public init(members: [Member]) {
        self.members = members
        var sets: [String: (ipv4: Set<String>, ipv6: Set<String>)] = [:]
        for member in members {
            for group in member.groups {
                sets[group, default: ([], [])].ipv4.formUnion(member.ipv4)
                sets[group, default: ([], [])].ipv6.formUnion(member.ipv6)
            }
        }
        addressesByGroup = sets.mapValues { (Array($0.ipv4).sorted(), Array($0.ipv6).sorted()) }
    }

    static let interfaces = DocumentPath("plugins.network.interfaces")!
    static let running = DocumentPath("managed.sha256")!

    public static func read(_ store: any Store, membership: GroupMembership, batchSize: Int = 1000) async throws -> FleetSnapshot {
        let paths = Array(Set(membership.paths + [interfaces, running])).sorted { $0.description < $1.description }
        var members: [Member] = []
        try await store.forEachAuditSubject(paths: paths, batchSize: batchSize) { subject in
            let (ipv4, ipv6) = addresses(subject.projection.values[interfaces])
            let running = subject.projection.values[Self.running]?.stringValue.flatMap { Hex.isLowercaseSHA256($0) ? $0 : nil }
            members.append(
                Member(
                    device: subject.device, groups: Set(membership.groups(of: subject)), ipv4: ipv4, ipv6: ipv6,
                    runningSHA256: running))
        }
        return FleetSnapshot(members: members)
    }

    /// The addresses of every member of `group`, sorted and without repeats.
    public func addresses(of group: String) -> (ipv4: [String], ipv6: [String]) {
        addressesByGroup[group] ?? ([], [])
    }

    /// `[{"name": ..., "ipv4": ["a/len"], "ipv6": [...]}]` to checked global addresses. Loopback,
    /// link-local and anything that does not parse as an address are left out.
    static func addresses(_ interfaces: JSONValue?) -> (ipv4: [String], ipv6: [String]) {
        guard case .array(let list)? = interfaces else { return ([], []) }
        var ipv4: Set<String> = []
        var ipv6: Set<String> = []
        for interface in list {
            for case .string(let text) in interface["ipv4"]?.arrayValue ?? [] {
                if let address = IPAddressText.canonical(text, family: .v4) { ipv4.insert(address) }
            }
            for case .string(let text) in interface["ipv6"]?.arrayValue ?? [] {
                if let address = IPAddressText.canonical(text, family: .v6) { ipv6.insert(address) }
            }
        }
        return (Array(ipv4.sorted().prefix(maxAddresses)), Array(ipv6.sorted().prefix(maxAddresses)))
    }

    /// Addresses taken from one device, per family: a device that reports thousands cannot make
    /// every rule naming its group too large for the devices that load it.
    static let maxAddresses = 16
}

/// An address a device reported, checked and rewritten by the C library before it goes into a
/// firewall rule: the text that reaches nft is inet_ntop's, never the device's.
enum IPAddressText {
    enum Family { case v4, v6 }

    static func canonical(_ text: String, family: Family) -> String? {
        let address = text.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
        guard !address.isEmpty, address.utf8.count < 64 else { return nil }
        switch family {
        case .v4:
            var raw = in_addr()
            guard inet_pton(AF_INET, address, &raw) == 1 else { return nil }
            let first = UInt32(bigEndian: raw.s_addr) >> 24
            // Loopback, "this network", link-local, multicast and reserved/broadcast are no peer's address.
            guard first != 127, first != 0, first < 224, !(first == 169 && (UInt32(bigEndian: raw.s_addr) >> 16) & 0xFF == 254) else {
                return nil
            }
            var out = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            guard inet_ntop(AF_INET, &raw, &out, socklen_t(out.count)) != nil else { return nil }
            return String(cString: out)
        case .v6:
            var raw = in6_addr()
            guard inet_pton(AF_INET6, address, &raw) == 1 else { return nil }
            let bytes = withUnsafeBytes(of: raw) { Array($0) }
            // Loopback, unspecified, link-local (fe80::/10) and multicast are no peer's address.
            if bytes.dropLast().allSatisfy({ $0 == 0 }) && (bytes[15] == 0 || bytes[15] == 1) { return nil }
            if bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 { return nil }
            if bytes[0] == 0xFF { return nil }
            var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &raw, &out, socklen_t(out.count)) != nil else { return nil }
            return String(cString: out)
        }
    }
}
