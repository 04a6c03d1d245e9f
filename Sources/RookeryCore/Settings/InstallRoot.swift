import Foundation

/// Every path Rookery uses hangs off one install root, so tests and several installs on one
/// machine never collide and nothing outside the root is touched.
public struct InstallRoot: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// `ROOKERY_HOME` if set, otherwise the directory above the one holding the executable
    /// (`<root>/bin/rookery` or `<root>/.build/debug/rookery` → `<root>`).
    public static func fromEnvironment() -> InstallRoot {
        if let home = ProcessInfo.processInfo.environment["ROOKERY_HOME"], !home.isEmpty {
            return InstallRoot(path: home)
        }
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = executable.deletingLastPathComponent()
        if dir.path.contains("/.build") {
            while dir.path.contains("/.build") { dir = dir.deletingLastPathComponent() }
            return InstallRoot(path: dir.path)
        }
        return InstallRoot(path: dir.deletingLastPathComponent().path)
    }

    public func resolve(_ relativeOrAbsolute: String) -> String {
        relativeOrAbsolute.hasPrefix("/") ? relativeOrAbsolute : path + "/" + relativeOrAbsolute
    }

    // Client side
    public var clientSettings: String { path + "/client/settings.yml" }
    public var clientPlugins: String { path + "/client/plugins" }
    public var clientState: String { path + "/var/client" }
    public var clientGnuPGHome: String { path + "/var/client/gnupg" }

    // Server side
    public var serverSettings: String { path + "/server/settings.yml" }
    public var serverState: String { path + "/var/server" }
    public var serverGnuPGHome: String { path + "/var/server/gnupg" }
}
