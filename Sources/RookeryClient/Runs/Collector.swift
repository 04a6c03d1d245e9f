import FoundationEssentials
import RookeryCore

/// Runs every plugin and queues the result as one collection.
public struct Collector: Sendable {
    let context: ClientContext

    public init(context: ClientContext) { self.context = context }

    /// Returns the queued item's id.
    @discardableResult
    public func collect(now: Date = Date()) throws -> String {
        let sealer = try CollectionSealer(context: context)
        let pluginState = context.root.clientState + "/plugin-state"
        try FileManager.default.createDirectory(atPath: pluginState, withIntermediateDirectories: true)
        // The release's plugins, then the device's own; a device without a release runs from its
        // own tree, where the two are one directory.
        let (release, own) = (context.root.clientReleasePlugins, context.root.clientPlugins)
        let directories = release == own ? [own] : [release, own]
        let disabled = Set(context.settings.disabledPlugins)
        let plugins = PluginRunner.discover(
            pluginDirectories: directories, selfExecutable: InstallRoot.currentExecutable,
            systemRoot: context.settings.systemRoot, stateDirectory: pluginState
        ).filter { !disabled.contains($0.name) }
        let runner = PluginRunner(
            timeout: TimeInterval(context.settings.pluginTimeout), parallelism: context.settings.pluginParallelism,
            environment: Self.pluginEnvironment(context), log: context.log)
        let results = runner.run(plugins)
        let commands = CommandRunner(context: context).runAll()

        let queue = try context.queue()
        let id = UUID().uuidString.lowercased()
        var item: [String: JSONValue] = [
            "collected_at": .string(RFC3339.string(from: now)),
            "plugins": .object(results),
            // So the server knows which release made this collection.
            "release": .integer(Int64(ReleaseInstaller.installedNumber(context.root)))
        ]
        if !commands.results.isEmpty { item["commands"] = .object(commands.results) }
        if let problem = context.settingsProblem { item["settings_problem"] = .string(problem) }
        item["managed"] = ManagedStateReport(context: context).collect()
        // Selected values are encrypted before the collection touches the disk.
        let name = try queue.enqueue(try sealer.seal(item), id: id, at: now)
        commands.finish()
        let dropped = try queue.enforceBounds(
            maxItems: context.settings.queueMaxItems, maxBytes: context.settings.queueMaxBytes,
            maxAge: TimeInterval(context.settings.queueMaxAgeDays) * 86400, now: now)
        for item in dropped {
            context.log.warning("queue full or too old: dropped undelivered collection \(item.id)")
        }
        context.log.info("collected \(results.count) plugins into \(name)")
        return name
    }

    /// Plugins get a small, known environment rather than whatever cron happened to have.
    static func pluginEnvironment(_ context: ClientContext) -> [String: String] {
        var environment = [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "ROOKERY_HOME": context.root.path,
            "ROOKERY_SYSTEM_ROOT": context.settings.systemRoot
        ]
        // A test's promise that nothing wipes the real system reaches the wipe command too.
        let sandboxOnly = SystemWipe.sandboxOnlyVariable
        environment[sandboxOnly] = ProcessInfo.processInfo.environment[sandboxOnly]
        return environment
    }
}
