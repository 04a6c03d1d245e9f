import FoundationEssentials
import RookeryCore

/// The plugins compiled into the client, run as `rookery-client plugin NAME`.
public enum BuiltinPlugins {
    /// Every built-in plugin. Adding one means writing its file in Plugins/ and listing it here.
    static let all: [any BuiltinPlugin.Type] = [
        BackupPlugin.self,
        DiskPlugin.self,
        FirewallPlugin.self,
        GuestSessionPlugin.self,
        HardwarePlugin.self,
        HDEncryptionPlugin.self,
        ListeningPortsPlugin.self,
        NetworkPlugin.self,
        OSInfoPlugin.self,
        OSUpdatesPlugin.self,
        ScreenlockPlugin.self,
        SSHDPlugin.self,
        UptimePlugin.self,
        UsersPlugin.self
    ]

    /// Sorted plugin names; each is also the key the server stores the output under (`plugins.<name>`).
    public static let names: [String] = all.map { $0.name }.sorted()

    /// Runs one plugin and returns its JSON output (UTF-8, an object or the string "unknown").
    /// `stateDirectory` is a writable directory where a plugin may remember things between runs.
    /// Throws `PluginError` for a name that is not a built-in plugin.
    public static func run(name: String, root: SystemRoot, stateDirectory: String) throws -> Data {
        guard let plugin = all.first(where: { $0.name == name }) else {
            throw PluginError("no built-in plugin named \"\(name)\"; known: \(names.joined(separator: ", "))")
        }
        return try report(of: plugin, PluginContext(root: root, stateDirectory: stateDirectory))
    }

    private static func report<Plugin: BuiltinPlugin>(of plugin: Plugin.Type, _ context: PluginContext) throws -> Data {
        try PluginJSON.encode(plugin.collect(context))
    }
}

/// Why a built-in plugin could not run at all: no such plugin (a plugin that cannot tell something reports "unknown"
/// instead of failing).
public struct PluginError: KindedError {
    public let description: String
    public var kind: ErrorKind { .notFound }

    public init(_ description: String) {
        self.description = description
    }
}

/// What a plugin is given: where the system is, and where it may keep state between runs.
struct PluginContext {
    let root: SystemRoot
    let stateDirectory: String
}

/// One built-in plugin: looks at the system and returns what it found, which encodes to its JSON output.
protocol BuiltinPlugin: Sendable {
    /// Usually the plugin's `Report` struct, or `Knowable<Report>` when it may not be able to tell
    /// anything at all.
    associatedtype Output: Encodable
    /// The plugin's name, as typed after `rookery-client plugin` and stored under `plugins.<name>`.
    static var name: String { get }
    /// Looks at the system. Never fails: what cannot be read is reported as "unknown".
    static func collect(_ context: PluginContext) -> Output
}
