import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryClient

#if canImport(Glibc)
import Glibc
#endif

/// `PatchApplier`: what a signed update answer asks a device to change in its own `client/` tree.
/// Every path comes from the network, so the device checks it again: only under `client/`, never
/// `client/settings.yml`, never through a symlink, commands only when the owner allows them.
@Suite struct PatchApplierTests {
    let sandbox: Sandbox
    let root: InstallRoot
    /// A directory beside the install root that no patch may ever reach.
    let outside: String

    init() throws {
        sandbox = try Sandbox()
        root = InstallRoot(path: try sandbox.directory("r"))
        outside = try sandbox.directory("outside")
    }

    @Test func writeCreatesFileWithModeContentsAndMissingDirectories() throws {
        let (result, message) = applier().apply(write("client/plugins/extra/deep/check.sh", "#!/bin/sh\necho 1\n", mode: 0o750))
        #expect(result == .applied)
        #expect(message == "")
        let path = root.path + "/client/plugins/extra/deep/check.sh"
        #expect(contents(path) == "#!/bin/sh\necho 1\n")
        #expect(mode(path) == 0o750)
        #expect(isDirectory(root.path + "/client/plugins/extra/deep"))
    }

    @Test func secondWriteReplacesTheFileAtomically() throws {
        let path = root.path + "/client/plugins/check.sh"
        #expect(applier().apply(write("client/plugins/check.sh", "old", mode: 0o644)).0 == .applied)
        // A hard link keeps the first file: an in-place rewrite would change it too, a rename does not.
        let firstVersion = sandbox.path + "/first-version"
        #expect(link(path, firstVersion) == 0)

        #expect(applier().apply(write("client/plugins/check.sh", "new contents", mode: 0o755)).0 == .applied)
        #expect(contents(path) == "new contents")
        #expect(mode(path) == 0o755)
        #expect(contents(firstVersion) == "old")
        #expect(inode(path) != inode(firstVersion))
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path + "/client/plugins") == ["check.sh"])
    }

    @Test func removeDeletesAndRemovingAMissingFileIsStillApplied() throws {
        let path = root.path + "/client/plugins/gone.sh"
        #expect(applier().apply(write("client/plugins/gone.sh", "x", mode: 0o644)).0 == .applied)
        #expect(FileManager.default.fileExists(atPath: path))

        #expect(applier().apply(remove("client/plugins/gone.sh")).0 == .applied)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(applier().apply(remove("client/plugins/gone.sh")).0 == .applied)
        #expect(applier().apply(remove("client/plugins/never/was.sh")).0 == .applied)
    }

    @Test(arguments: [
        "client/../../outside/x",  // climbs out of the root
        "client/plugins/../../../outside/x",
        ".."
    ])
    func dotDotIsRefused(_ target: String) throws {
        #expect(applier().apply(write(target, "pwned", mode: 0o644)).0 == .refused)
        #expect(try entries(outside).isEmpty)
    }

    @Test func absolutePathIsRefused() throws {
        let target = outside + "/x"
        #expect(applier().apply(write(target, "pwned", mode: 0o644)).0 == .refused)
        #expect(!FileManager.default.fileExists(atPath: target))
    }

    @Test func ownersSettingsAreNeverPatched() throws {
        try sandbox.write("allow_commands: false\n", to: "r/client/settings.yml")
        #expect(applier().apply(write("client/settings.yml", "allow_commands: true\n", mode: 0o644)).0 == .refused)
        #expect(applier().apply(remove("client/settings.yml")).0 == .refused)
        #expect(contents(root.clientSettings) == "allow_commands: false\n")
    }

    @Test func targetsOutsideClientAreRefused() throws {
        try sandbox.write("{\"enrolled\":true}", to: "r/var/client/state.json")
        #expect(applier().apply(write("var/client/state.json", "{}", mode: 0o644)).0 == .refused)
        #expect(applier().apply(remove("var/client/state.json")).0 == .refused)
        #expect(applier().apply(write("bin/client-cron", "#!/bin/sh\n", mode: 0o755)).0 == .refused)
        #expect(applier().apply(write("client", "not a directory", mode: 0o644)).0 == .refused)
        #expect(contents(root.clientState + "/state.json") == "{\"enrolled\":true}")
        #expect(!FileManager.default.fileExists(atPath: root.path + "/bin"))
    }

    @Test func symlinkedDirectoryOnTheWayIsRefused() throws {
        _ = try sandbox.directory("r/client")
        try FileManager.default.createSymbolicLink(atPath: root.path + "/client/plugins", withDestinationPath: outside)

        let (result, message) = applier().apply(write("client/plugins/x.sh", "pwned", mode: 0o755))
        #expect(result == .refused)
        #expect(message.contains("symlink"))
        #expect(applier().apply(write("client/plugins/sub/x.sh", "pwned", mode: 0o755)).0 == .refused)
        #expect(try entries(outside).isEmpty)

        // A removal must not reach through the link either.
        try sandbox.write("keep", to: "outside/keep")
        #expect(applier().apply(remove("client/plugins/keep")).0 == .refused)
        #expect(contents(outside + "/keep") == "keep")
    }

    @Test func symlinkedClientDirectoryIsRefused() throws {
        try FileManager.default.createSymbolicLink(atPath: root.path + "/client", withDestinationPath: outside)
        #expect(applier().apply(write("client/plugins/x.sh", "pwned", mode: 0o755)).0 == .refused)
        #expect(try entries(outside).isEmpty)
    }

    @Test func commandsNeedTheOwnersConsentButPluginsDoNot() throws {
        let closed = applier(allowCommands: false)
        let (result, message) = closed.apply(write("client/commands/x", "#!/bin/sh\nreboot\n", mode: 0o700))
        #expect(result == .refused)
        #expect(message == PatchApplier.commandsOffMessage)
        #expect(!FileManager.default.fileExists(atPath: root.clientCommands + "/x"))
        #expect(closed.apply(write("client/plugins/x", "#!/bin/sh\n", mode: 0o755)).0 == .applied)
        #expect(FileManager.default.fileExists(atPath: root.clientPlugins + "/x"))

        // The same command is applied where the owner allows commands.
        #expect(applier(allowCommands: true).apply(write("client/commands/x", "#!/bin/sh\n", mode: 0o700)).0 == .applied)
        #expect(mode(root.clientCommands + "/x") == 0o700)
    }

    @Test func setIDAndStickyBitsNeverReachTheFile() throws {
        #expect(applier().apply(write("client/plugins/suid.sh", "#!/bin/sh\n", mode: 0o4755)).0 == .applied)
        #expect(applier().apply(write("client/plugins/sgid.sh", "#!/bin/sh\n", mode: 0o2755)).0 == .applied)
        #expect(applier().apply(write("client/plugins/sticky.sh", "#!/bin/sh\n", mode: 0o1755)).0 == .applied)
        for name in ["suid.sh", "sgid.sh", "sticky.sh"] {
            #expect(fullMode(root.clientPlugins + "/" + name) == 0o755, "\(name)")
        }
    }

    // MARK: - Helpers

    func applier(allowCommands: Bool = true) -> PatchApplier {
        PatchApplier(root: root, allowCommands: allowCommands)
    }

    func write(_ target: String, _ text: String, mode: Int) -> PatchInstruction {
        PatchInstruction(id: 1, target: target, action: .write, mode: mode, content: Data(text.utf8))
    }

    func remove(_ target: String) -> PatchInstruction {
        PatchInstruction(id: 2, target: target, action: .remove, mode: 0, content: Data())
    }

    func contents(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    func entries(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory)
    }

    func status(_ path: String) -> stat? {
        var info = stat()
        return lstat(path, &info) == 0 ? info : nil
    }

    /// Permission bits.
    func mode(_ path: String) -> Int? { status(path).map { Int($0.st_mode) & 0o777 } }
    /// Permission bits with set-uid, set-gid and sticky.
    func fullMode(_ path: String) -> Int? { status(path).map { Int($0.st_mode) & 0o7777 } }
    func inode(_ path: String) -> UInt? { status(path).map { UInt($0.st_ino) } }

    func isDirectory(_ path: String) -> Bool {
        status(path).map { $0.st_mode & S_IFMT == S_IFDIR } ?? false
    }
}
