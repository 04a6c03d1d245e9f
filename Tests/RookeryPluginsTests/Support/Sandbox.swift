import Foundation
@testable import RookeryPlugins

/// A throwaway system for one test: a copy of a fixture tree (or an empty tree) to serve as the
/// plugins' root, and a state directory beside it, in a fresh temporary directory removed afterwards.
///
/// What git cannot hold well (symlinks, NUL-separated /proc files, binary utmp) is added by the test
/// through the helpers here.
final class Sandbox {
    let directory: URL
    let root: SystemRoot
    let stateDirectory: String

    init(fixture: String? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("rookery-plugins-\(UUID().uuidString)")
        let rootURL = directory.appendingPathComponent("root")
        let stateURL = directory.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let fixture {
            try FileManager.default.copyItem(at: try Self.fixtureURL(fixture), to: rootURL)
        } else {
            try FileManager.default.createDirectory(at: rootURL, withIntermediateDirectories: true)
        }
        try FileManager.default.createDirectory(at: stateURL, withIntermediateDirectories: true)
        root = SystemRoot(path: rootURL.path)
        stateDirectory = stateURL.path
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    static func fixtureURL(_ name: String) throws -> URL {
        guard let fixtures = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            throw SandboxError("the Fixtures resource is missing from the test bundle")
        }
        return fixtures.appendingPathComponent(name)
    }

    /// Runs a built-in plugin on this sandbox and parses its output.
    func run(_ plugin: String) throws -> JSON {
        try JSON(BuiltinPlugins.run(name: plugin, root: root, stateDirectory: stateDirectory))
    }

    // MARK: Changing the tree

    func write(_ absolutePath: String, _ text: String) throws {
        try write(absolutePath, data: Data(text.utf8))
    }

    func write(_ absolutePath: String, data: Data) throws {
        let url = URL(fileURLWithPath: root.resolve(absolutePath))
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    /// A shell script standing in for a command: on this root, `root.run(absolutePath, ...)` runs it.
    func writeExecutable(_ absolutePath: String, script: String) throws {
        try write(absolutePath, "#!/bin/sh\n" + script + "\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: root.resolve(absolutePath))
    }

    func symlink(_ absolutePath: String, to target: String) throws {
        let path = root.resolve(absolutePath)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true
        )
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
    }

    func remove(_ absolutePath: String) throws {
        try FileManager.default.removeItem(atPath: root.resolve(absolutePath))
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
        try FileManager.default.createDirectory(atPath: root.resolve("\(directory)/fd"), withIntermediateDirectories: true)
        for (fd, target) in fileDescriptors {
            try symlink("\(directory)/fd/\(fd)", to: target)
        }
    }

    private func nulSeparated(_ strings: [String]) -> Data {
        Data(strings.map { $0 + "\0" }.joined().utf8)
    }
}

struct SandboxError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
