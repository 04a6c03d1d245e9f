import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The process's limit on open files, which caps its connections before `max_connections` can:
/// systemd and most shells start processes with a soft limit of 1024.
public enum OpenFileLimit {
    /// Files the server keeps open besides connections: database, signature-check helpers'
    /// pipes, releases being sent, the event loops' own.
    static let reserve = 256

    /// Raises the soft limit, as far as the hard limit allows, to what `maxConnections` needs;
    /// returns what to warn about if that is not enough.
    public static func raise(for maxConnections: Int) -> String? {
        let needed = rlim_t(maxConnections + reserve)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur < needed {
            var raised = limit
            raised.rlim_cur = min(needed, limit.rlim_max)
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        guard limit.rlim_cur < needed else { return nil }
        return "max_connections \(maxConnections) needs about \(needed) open files, but this process may open only "
            + "\(limit.rlim_cur): raise LimitNOFILE (systemd) or ulimit -n, or lower max_connections"
    }
}
