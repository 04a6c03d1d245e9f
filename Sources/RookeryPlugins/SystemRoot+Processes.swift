import FoundationEssentials

/// Reading running processes from /proc/PID/*.
extension SystemRoot {
    /// The ids of running processes: the all-digit names in /proc.
    func processIDs() -> [String] {
        listDirectory("/proc").filter { name in
            !name.isEmpty && name.allSatisfy { $0.isASCII && $0.isNumber }
        }
    }

    /// The short program name the kernel keeps for a process (/proc/PID/comm), e.g. "sshd".
    func processName(_ pid: String) -> String? {
        readValue("/proc/\(pid)/comm")
    }

    /// The command line of a process, one element per argument (/proc/PID/cmdline is NUL-separated).
    func commandLine(_ pid: String) -> [String] {
        guard let data = readData("/proc/\(pid)/cmdline") else { return [] }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The environment a process started with (/proc/PID/environ, NUL-separated NAME=value).
    func environment(_ pid: String) -> [String: String] {
        guard let data = readData("/proc/\(pid)/environ") else { return [:] }
        var variables: [String: String] = [:]
        for entry in data.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            guard let equals = text.firstIndex(of: "=") else { continue }
            variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        return variables
    }

    /// The real user id a process runs as, from the "Uid:" line of /proc/PID/status.
    func processOwner(_ pid: String) -> Int? {
        guard let status = readFile("/proc/\(pid)/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("Uid:") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            return fields.count > 1 ? Int(fields[1]) : nil
        }
        return nil
    }

    /// True when /proc/PID exists, i.e. the process is alive.
    func processExists(_ pid: String) -> Bool {
        isDirectory("/proc/\(pid)")
    }
}
