import Foundation
import RookeryCore

/// An install root in a sandbox with a server/settings.yml, for the admin editors' tests.
struct AdminFiles {
    let sandbox: Sandbox
    let root: InstallRoot

    init(settings: String, mode: Int = 0o640) throws {
        sandbox = try Sandbox()
        try sandbox.write(settings, to: "root/server/settings.yml", mode: mode)
        root = InstallRoot(path: sandbox.path + "/root")
    }

    var settingsPath: String { root.serverSettings }

    func settingsText() throws -> String { try String(contentsOfFile: settingsPath, encoding: .utf8) }

    /// The names in `relative` (under the root), sorted: what an edit left behind. None when
    /// the directory was never made.
    func files(in relative: String) throws -> [String] {
        let directory = root.resolve(relative)
        guard FileManager.default.fileExists(atPath: directory) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }

    func mode(of path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }
}
