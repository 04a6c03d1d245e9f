import Foundation
import RookeryCore
@_exported import RookeryTestSupport

@testable import RookeryPlugins

/// A throwaway system for one test: in a `Sandbox`, a copy of a fixture tree (or an empty tree)
/// serves as the plugins' root, beside their state directory.
///
/// What git cannot hold well (symlinks, NUL-separated /proc files, binary utmp) is added by the
/// test through `SystemRoot`'s helpers below, at paths as the system sees them ("/etc/x").
extension Sandbox {
    /// `fixture`: a tree under Tests/RookeryPluginsTests/Fixtures; nil for an empty root.
    convenience init(fixture: String?) throws {
        try self.init()
        if let fixture {
            try FileManager.default.copyItem(atPath: try Self.fixturePath(fixture), toPath: root.path)
        } else {
            _ = try directory("root")
        }
        _ = try directory("state")
    }

    var root: SystemRoot { SystemRoot(path: path + "/root") }

    var stateDirectory: String { path + "/state" }

    static func fixturePath(_ name: String) throws -> String {
        guard let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw SettingsError("the Fixtures resource is missing from the test bundle; build the tests with swift build --build-tests")
        }
        return fixtures.appendingPathComponent(name).path
    }

    /// Runs a built-in plugin on this sandbox's root and parses its output.
    func run(_ plugin: String) throws -> JSON {
        try JSON(BuiltinPlugins.run(name: plugin, root: root, stateDirectory: stateDirectory))
    }
}

/// Changing a test's system tree.
extension SystemRoot {
    func write(_ absolutePath: String, _ text: String) throws {
        try write(absolutePath, data: Data(text.utf8))
    }

    func write(_ absolutePath: String, data: Data) throws {
        let url = URL(fileURLWithPath: resolve(absolutePath))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    /// A shell script standing in for a command: on this root, `run(absolutePath, ...)` runs it.
    func writeExecutable(_ absolutePath: String, script: String) throws {
        try write(absolutePath, "#!/bin/sh\n" + script + "\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: resolve(absolutePath))
    }

    func symlink(_ absolutePath: String, to target: String) throws {
        let path = resolve(absolutePath)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true
        )
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
    }

    func remove(_ absolutePath: String) throws {
        try FileManager.default.removeItem(atPath: resolve(absolutePath))
    }

    /// A running process as /proc shows it: comm, status (for its uid), NUL-separated cmdline and
    /// environ, and fd symlinks ("3" -> "socket:[21001]").
    func addProcess(
        pid: Int, name: String, uid: Int = 0, commandLine: [String] = [], environment: [String: String] = [:],
        fileDescriptors: [Int: String] = [:]
    ) throws {
        let directory = "/proc/\(pid)"
        try write("\(directory)/comm", name + "\n")
        try write("\(directory)/status", "Name:\t\(name)\nPid:\t\(pid)\nUid:\t\(uid)\t\(uid)\t\(uid)\t\(uid)\n")
        try write("\(directory)/cmdline", data: nulSeparated(commandLine.isEmpty ? [name] : commandLine))
        try write("\(directory)/environ", data: nulSeparated(environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }))
        try FileManager.default.createDirectory(atPath: resolve("\(directory)/fd"), withIntermediateDirectories: true)
        for (fd, target) in fileDescriptors {
            try symlink("\(directory)/fd/\(fd)", to: target)
        }
    }

    private func nulSeparated(_ strings: [String]) -> Data {
        Data(strings.map { $0 + "\0" }.joined().utf8)
    }
}
