import Foundation

/// Every path Rookery uses hangs off one install root, so tests and several installs on one
/// machine never collide and nothing outside the root is touched.
public struct InstallRoot: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// `ROOKERY_HOME` if set, otherwise found from where this binary lives:
    /// `<root>/lib/rookery/X` (installed), `<root>/bin/X`, or `<root>/.build*/.../X` (a checkout).
    public static func fromEnvironment() -> InstallRoot {
        if let home = ProcessInfo.processInfo.environment["ROOKERY_HOME"], !home.isEmpty {
            return InstallRoot(path: home)
        }
        let directory = URL(fileURLWithPath: currentExecutable).deletingLastPathComponent()
        let parts = directory.pathComponents
        if let build = parts.firstIndex(where: { $0.hasPrefix(".build") }) {
            return InstallRoot(path: NSString.path(withComponents: Array(parts[..<build])))
        }
        if parts.suffix(2) == ["lib", "rookery"] {
            return InstallRoot(path: NSString.path(withComponents: Array(parts.dropLast(2))))
        }
        return InstallRoot(path: directory.deletingLastPathComponent().path)
    }

    /// The running binary's real path (not argv[0], which may be relative or a wrapper's name).
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
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
