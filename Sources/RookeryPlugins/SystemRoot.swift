import FoundationEssentials
import Glibc
import RookeryCore

/// The file system a built-in plugin looks at.
///
/// Every file a plugin reads and every command it runs goes through a `SystemRoot`, so the same code
/// reads the real machine when `path` is "/" and a fixture tree when `path` is a test directory.
/// Absolute paths such as "/etc/os-release" are always meant inside the root.
///
/// Nothing here throws: a file that is missing or unreadable is simply `nil` or empty, because for a
/// plugin "cannot read it" is an answer ("unknown"), not a failure.
public struct SystemRoot: Sendable {
    /// "/" on a real device, a fixture directory in tests.
    public let path: String

    /// Reads stop here, so a huge or endless file (a runaway log, /dev/zero behind a symlink) cannot
    /// exhaust memory. Every file a plugin reads is far smaller.
    public static let readLimit = 1 << 20

    public init(path: String) {
        self.path = path
    }

    /// True when the root is the running machine itself, so asking the kernel directly (uname)
    /// tells the truth about it.
    public var isHostRoot: Bool {
        resolve("/") == "/"
    }

    /// Where `absolutePath` lives on the real file system: "/etc/os-release" under the root
    /// "/tmp/fixture" is "/tmp/fixture/etc/os-release".
    public func resolve(_ absolutePath: String) -> String {
        let rootWithoutSlash = path.hasSuffix("/") ? String(path.dropLast()) : path
        let relative = absolutePath.hasPrefix("/") ? absolutePath : "/" + absolutePath
        return rootWithoutSlash.isEmpty ? relative : rootWithoutSlash + relative
    }

    /// The first `limit` bytes of a file, or nil when it cannot be opened or read.
    public func readData(_ absolutePath: String, limit: Int = SystemRoot.readLimit) -> Data? {
        let fd = open(resolve(absolutePath), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: min(limit, 1 << 16))
        while data.count < limit {
            let count = read(fd, &chunk, min(chunk.count, limit - data.count))
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            data.append(contentsOf: chunk[..<count])
        }
        return data
    }

    /// A text file, or nil when it cannot be read. Bytes that are not UTF-8 become U+FFFD, so binary
    /// garbage reads as odd text instead of failing.
    public func readFile(_ absolutePath: String) -> String? {
        readData(absolutePath).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The first line of a file without surrounding white space; nil when missing or empty.
    /// Most files under /proc/sys and /sys hold exactly one such value.
    public func readValue(_ absolutePath: String) -> String? {
        guard let text = readFile(absolutePath) else { return nil }
        let firstLine = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let value = firstLine.trimmingWhitespace()
        return value.isEmpty ? nil : value
    }

    /// The names in a directory, sorted; empty when it is missing or unreadable.
    public func listDirectory(_ absolutePath: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: resolve(absolutePath))) ?? []
        return names.sorted()
    }

    /// True when something exists at the path (a dangling symlink counts as missing).
    public func fileExists(_ absolutePath: String) -> Bool {
        FileManager.default.fileExists(atPath: resolve(absolutePath))
    }

    public func isDirectory(_ absolutePath: String) -> Bool {
        var isDirectory = false
        return FileManager.default.fileExists(atPath: resolve(absolutePath), isDirectory: &isDirectory)
            && isDirectory
    }

    /// What a symlink points at, exactly as stored ("../dm-0", "socket:[1234]"); nil when the path is
    /// not a symlink.
    public func symlinkTarget(_ absolutePath: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: resolve(absolutePath))
    }

    /// The absolute paths (inside the root) of the entries of `directory` whose names end with
    /// `suffix`, sorted. Used for "conf.d/*.conf" style directories.
    func files(in directory: String, endingWith suffix: String) -> [String] {
        listDirectory(directory)
            .filter { $0.hasSuffix(suffix) }
            .map { joinPath(directory, $0) }
    }
}

/// "/etc/ssh" + "sshd_config.d" = "/etc/ssh/sshd_config.d".
func joinPath(_ directory: String, _ name: String) -> String {
    directory.hasSuffix("/") ? directory + name : directory + "/" + name
}
