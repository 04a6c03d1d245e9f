import FoundationEssentials
import Glibc

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
        // getenv rather than ProcessInfo's environment, which builds a dictionary of every
        // variable: a tenth of an idle client-cron run's own work.
        if let home = getenv("ROOKERY_HOME").map({ String(cString: $0) }), !home.isEmpty {
            return InstallRoot(path: home)
        }
        let directory = URL(fileURLWithPath: currentExecutable).deletingLastPathComponent()
        let parts = directory.pathComponents
        if let build = parts.firstIndex(where: { $0.hasPrefix(".build") }) {
            return InstallRoot(path: PathText.joined(Array(parts[..<build])))
        }
        if parts.suffix(2) == ["lib", "rookery"], parts.dropLast(3).last == "releases" {
            // <root>/releases/N/lib/rookery: a client release (see clientRelease).
            return InstallRoot(path: PathText.joined(Array(parts.dropLast(4))))
        }
        if parts.suffix(2) == ["lib", "rookery"] {
            return InstallRoot(path: PathText.joined(Array(parts.dropLast(2))))
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

    // Client side. Releases unpack into releases/N and `current` points at the one in use; a
    // device set up without a release (or a checkout) uses its own tree as the release.
    public var clientReleases: String { path + "/releases" }
    public var clientCurrentLink: String { path + "/current" }
    public var clientRelease: String {
        FileManager.default.fileExists(atPath: clientCurrentLink) ? clientCurrentLink : path
    }
    public var clientReleaseSettings: String { clientRelease + "/client/release.yml" }
    public var clientServerKey: String { clientRelease + "/client/server-key.asc" }
    /// The CA the release pins for the server's TLS certificate; absent: the system's CA store.
    public var clientServerCA: String { clientRelease + "/client/server-ca.pem" }
    public var clientManifest: String { clientRelease + "/" + ReleaseManifest.manifestName }
    /// Plugins of the release, and the device's own (added by hand or by patches).
    public var clientReleasePlugins: String { clientRelease + "/client/plugins" }
    public var clientPlugins: String { path + "/client/plugins" }
    public var clientCommands: String { path + "/client/commands" }
    public var clientSettings: String { path + "/client/settings.yml" }
    public var clientState: String { path + "/var/client" }
    /// The client settings the server manages for this device (`ManagedState.settings`), as the
    /// device last adopted them: between the release's and the owner's (see `ClientSettingsFile`).
    public var clientFleetSettings: String { clientState + "/fleet-settings.yml" }
    public var clientGnuPGHome: String { path + "/var/client/gnupg" }
    /// A keyring holding only the pinned server key, for checking what the server signs.
    public var clientServerKeyring: String { path + "/var/client/server-keyring" }
    /// The secret-keeping policy last learned from a signed update answer; absent when nothing is
    /// selected. Apart from state.json, which cron reads every minute.
    public var clientSecretKeeping: String { path + "/var/client/secret-keeping.json" }
    /// The device's own key for the hashes of secret values; it never leaves the device.
    public var clientSecretHashKey: String { path + "/var/client/secret-hash.key" }

    // Server side
    public var serverSettings: String { path + "/server/settings.yml" }
    public var serverState: String { path + "/var/server" }
    public var serverGnuPGHome: String { path + "/var/server/gnupg" }
    /// The cache of accepted devices' public keys, apart from the signing key's home: what
    /// devices sent is never read by gpg where that key lives.
    public var serverDeviceKeyring: String { path + "/var/server/device-keys" }
    /// The public half of the server's signing key, which releases carry for clients to pin.
    public var serverPublicKey: String { path + "/server/server-key.asc" }
}
