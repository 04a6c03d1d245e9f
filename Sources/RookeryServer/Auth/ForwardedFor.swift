import Foundation

/// The client's address behind trusted proxies, read from `X-Forwarded-For` (see "Proxies and
/// X-Forwarded-For" in docs/authentication.md).
struct ForwardedFor: Sendable {
    let trustedProxies: [AddressRange]

    /// The socket's peer, unless it is a trusted proxy; then the nearest entry of `header` that is
    /// not one (proxies append, so the far left is the client's own claim). An entry that is not
    /// an address ends the walk with no address at all: judging the proxy that passed it instead
    /// would let whatever it forwards in under the proxy's own address.
    func clientAddress(peer: String?, header: String?) -> String? {
        guard var address = peer else { return nil }
        // Empty list elements are no entries (RFC 9110's list syntax).
        let entries = (header ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        for entry in entries.reversed() {
            guard trustedProxies.contains(where: { $0.contains(address) }) else { break }
            guard let next = Self.address(inEntry: entry) else { return nil }
            address = next
        }
        return address
    }

    /// The address of one entry: `192.0.2.1`, `192.0.2.1:5555`, `2001:db8::1`, `[2001:db8::1]`
    /// or `[2001:db8::1]:443` (proxies such as Azure's and some HAProxy setups add the port);
    /// nil for anything else (a name, `unknown`, a bad port).
    static func address(inEntry entry: String) -> String? {
        let host: Substring
        let port: Substring?
        if entry.hasPrefix("[") {
            // Brackets are for IPv6 alone, as in a URL.
            guard let close = entry.firstIndex(of: "]") else { return nil }
            host = entry[entry.index(after: entry.startIndex)..<close]
            let rest = entry[entry.index(after: close)...]
            guard host.contains(":"), rest.isEmpty || rest.hasPrefix(":") else { return nil }
            port = rest.isEmpty ? nil : rest.dropFirst()
        } else if entry.filter({ $0 == ":" }).count == 1 {
            // One colon: IPv4 and a port (an IPv6 address has at least two).
            let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
            guard AddressRange.bytes(of: String(parts[0]))?.count == 4 else { return nil }
            (host, port) = (parts[0], parts[1])
        } else {
            (host, port) = (Substring(entry), nil)
        }
        if let port {
            guard (1...5).contains(port.count), port.allSatisfy({ $0.isASCII && $0.isNumber }),
                let number = Int(port), number <= 65_535
            else { return nil }
        }
        return AddressRange.bytes(of: String(host)) != nil ? String(host) : nil
    }
}
