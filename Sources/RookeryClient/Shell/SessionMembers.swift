import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// The processes of one terminal session, found in /proc. A shell's jobs run in process groups of
/// their own, so signalling the shell's group alone would leave them behind; the session holds
/// them all. Linux does not reuse a pid while it still names a session, so this never reaches
/// strangers.
enum SessionMembers {
    /// Live (not zombie) processes whose session id is `session`.
    static func pids(inSession session: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = pid_t(entry), let (state, sid) = stateAndSession(of: pid) else { return nil }
            return sid == session && state != UInt8(ascii: "Z") ? pid : nil
        }
    }

    /// Sends `signal` to every live process of the session.
    static func signal(_ signal: Int32, session: pid_t) {
        for pid in pids(inSession: session) { kill(pid, signal) }
    }

    /// From /proc/PID/stat: "pid (comm) state ppid pgrp session ...". The command name may hold
    /// spaces and parentheses, so fields are counted after its last ")".
    private static func stateAndSession(of pid: pid_t) -> (UInt8, pid_t)? {
        let descriptor = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = read(descriptor, &buffer, buffer.count)
        guard count > 0, let nameEnd = buffer[..<count].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = buffer[(nameEnd + 1)..<count].split(separator: UInt8(ascii: " "))
        guard fields.count > 3, let state = fields[0].first,
            let session = pid_t(String(decoding: fields[3], as: UTF8.self))
        else { return nil }
        return (state, session)
    }
}
