import FoundationEssentials

/// `listening_ports`: which TCP and UDP ports the device accepts traffic on from the network, and which
/// program holds each one.
///
/// Sockets come from /proc/net/{tcp,tcp6,udp,udp6}: listening TCP sockets (state 0A) and bound UDP
/// sockets (state 07). Sockets bound to a loopback address (127.0.0.0/8, ::1) are left out: nothing
/// outside the device can reach them. The program is found by looking for "socket:[INODE]" among the
/// /proc/PID/fd/* symlinks and taking that process's /proc/PID/comm; reading other users' fds takes
/// root, so the program is "unknown" where that fails.
struct ListeningPortsPlugin: BuiltinPlugin {
    static let name = "listening_ports"

    struct Report: Encodable {
        let ports: [Port]
    }

    struct Port: Encodable, Hashable {
        /// "tcp" or "udp"; the address tells IPv4 from IPv6.
        let `protocol`: String
        let address: String
        let port: Int
        let program: Knowable<String>
    }

    /// A socket table and the state that means "open to traffic" in it.
    private struct SocketTable {
        let file: String
        let protocolName: String
        let openState: Substring
    }

    private static let tables = [
        SocketTable(file: "/proc/net/tcp", protocolName: "tcp", openState: "0A"),
        SocketTable(file: "/proc/net/tcp6", protocolName: "tcp", openState: "0A"),
        SocketTable(file: "/proc/net/udp", protocolName: "udp", openState: "07"),
        SocketTable(file: "/proc/net/udp6", protocolName: "udp", openState: "07")
    ]

    /// A socket open to the network, before its program is known.
    private struct Socket {
        let protocolName: String
        let address: IPAddress
        let port: Int
        let inode: String
    }

    static func collect(_ context: PluginContext) -> Knowable<Report> {
        let root = context.root
        let readable = tables.compactMap { table in root.readFile(table.file).map { (table, $0) } }
        guard !readable.isEmpty else { return .unknown }
        let sockets = readable.flatMap { table, text in openSockets(text, table) }
        let programs = programsBySocketInode(root, wanted: Set(sockets.map(\.inode)))
        let ports = sockets.map { socket in
            Port(
                protocol: socket.protocolName,
                address: socket.address.text,
                port: socket.port,
                program: Knowable(programs[socket.inode])
            )
        }
        // Several sockets can share a port (SO_REUSEPORT workers); one line says it all.
        let unique = Array(Set(ports)).sorted {
            ($0.protocol, $0.port, $0.address) < ($1.protocol, $1.port, $1.address)
        }
        return .known(Report(ports: unique))
    }

    /// The lines of one table, after its header:
    /// "0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 12345 ..."
    /// (slot, local address:port, remote address:port, state, queues, timers, retransmits, uid,
    /// timeout, inode).
    private static func openSockets(_ text: String, _ table: SocketTable) -> [Socket] {
        text.split(whereSeparator: \.isNewline).dropFirst().compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 10, fields[3] == table.openState else { return nil }
            let local = fields[1].split(separator: ":")
            guard local.count == 2, let address = IPAddress(procNetHex: local[0]),
                let port = Int(local[1], radix: 16), !address.isLoopback
            else { return nil }
            return Socket(protocolName: table.protocolName, address: address, port: port, inode: String(fields[9]))
        }
    }

    /// Program names for the socket inodes in `wanted`, from the fd symlinks of every process.
    private static func programsBySocketInode(_ root: SystemRoot, wanted: Set<String>) -> [String: String] {
        var programs: [String: String] = [:]
        for pid in root.processIDs() {
            for fd in root.listDirectory("/proc/\(pid)/fd") {
                guard let target = root.symlinkTarget("/proc/\(pid)/fd/\(fd)"),
                    target.hasPrefix("socket:["), target.hasSuffix("]")
                else { continue }
                let inode = String(target.dropFirst("socket:[".count).dropLast())
                if wanted.contains(inode), programs[inode] == nil, let program = root.processName(pid) {
                    programs[inode] = program
                }
            }
            if programs.count == wanted.count { break }
        }
        return programs
    }
}
