/// The other accepted or pending keys that use a device's hostname or its machine id (a cloned
/// disk, a reinstall), as the duplicate-host check reports them. The machine id itself is never
/// shown: it identifies the machine to whoever reads a report or mail.
public struct KeyClashes: Sendable, Equatable {
    /// Another device's key, and the hostname it reports under.
    public struct Key: Sendable, Equatable {
        public var fingerprint: String
        public var hostname: String

        public init(fingerprint: String, hostname: String) {
            self.fingerprint = fingerprint
            self.hostname = hostname
        }
    }

    /// A report names this many keys of each kind; a store hands over one more, to tell of others.
    public static let shown = 3

    public var hostname: [Key]
    public var machineID: [Key]

    public init(hostname: [Key] = [], machineID: [Key] = []) {
        self.hostname = hostname
        self.machineID = machineID
    }

    public var isEmpty: Bool { hostname.isEmpty && machineID.isEmpty }

    /// The keys of a store's list "FINGERPRINT HOSTNAME,..." (hostnames hold neither spaces nor
    /// commas); none for nil.
    static func keys(listed text: String?) -> [Key] {
        guard let text else { return [] }
        return text.split(separator: ",").map { entry in
            let parts = entry.split(separator: " ", maxSplits: 1)
            return Key(fingerprint: String(parts[0]), hostname: parts.count > 1 ? String(parts[1]) : "")
        }
    }

    /// Says which clashes and with which keys, by fingerprint (admin commands take those where a
    /// hostname is shared): "hostname laptop-7 is also used by key 9A59...; machine id is also
    /// used by key 1326... (doc-host)".
    public func description(ofHost host: String) -> String {
        var parts: [String] = []
        if !hostname.isEmpty {
            parts.append("hostname \(host) is also used by " + Self.list(hostname.map(\.fingerprint)))
        }
        if !machineID.isEmpty {
            parts.append("machine id is also used by " + Self.list(machineID.map { "\($0.fingerprint) (\($0.hostname))" }))
        }
        return parts.joined(separator: "; ")
    }

    private static func list(_ keys: [String]) -> String {
        let named = keys.prefix(shown).joined(separator: ", ")
        return (keys.count == 1 ? "key " : "keys ") + named + (keys.count > shown ? " and more (see bin/clients list)" : "")
    }
}
