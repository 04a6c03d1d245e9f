import Dispatch
import FoundationEssentials
import RookeryCore
import RookeryPlugins

/// A plugin to run: a built-in (run as `rookery-client plugin NAME`) or an executable in
/// `client/plugins/`.
public struct PluginSpec: Sendable {
    public let name: String
    public let executable: String
    public let arguments: [String]
}

/// Runs every plugin, each as its own process with a hard timeout, a few at a time. A broken
/// plugin (crash, timeout, bad JSON) yields `"unknown"` and a log line; it never stops the others.
public struct PluginRunner: Sendable {
    public let timeout: TimeInterval
    public let parallelism: Int
    public let environment: [String: String]
    public let log: ClientLog

    public func run(_ plugins: [PluginSpec]) -> [String: JSONValue] {
        let results = Locked([String: JSONValue]())
        let next = Locked(0)
        DispatchQueue.concurrentPerform(iterations: max(1, min(parallelism, plugins.count))) { _ in
            while let index = next.withLock({ taken -> Int? in
                defer { taken += 1 }
                return taken < plugins.count ? taken : nil
            }) {
                let value = runOne(plugins[index])
                results.withLock { $0[plugins[index].name] = value }
            }
        }
        return results.current
    }

    private func runOne(_ spec: PluginSpec) -> JSONValue {
        do {
            let result = try PluginProcess.run(
                executable: spec.executable, arguments: spec.arguments,
                environment: environment, timeout: timeout)
            switch result.ending {
            case .timedOut:
                log.warning("plugin \(spec.name) killed after \(Int(timeout)) s")
            case .signaled(let signal):
                log.warning("plugin \(spec.name) died of signal \(signal)")
            case .exited(let code) where code != 0:
                log.warning("plugin \(spec.name) exited \(code): \(Self.firstLine(result.stderr))")
            case .exited:
                if let value = try? JSONValue.parse(result.stdout) { return value }
                log.warning("plugin \(spec.name) printed no valid JSON")
            }
        } catch {
            log.warning("plugin \(spec.name) could not start: \(error)")
        }
        return .string("unknown")
    }

    private static func firstLine(_ data: Data) -> String {
        String(decoding: data.prefix(300), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
    }

    /// The built-ins plus every executable regular file in `directories` (hidden files skipped):
    /// the release's plugins, then the device's own. A plugin replaces one of the same name that
    /// came before it, a built-in included.
    public static func discover(
        pluginDirectories directories: [String], selfExecutable: String,
        systemRoot: String, stateDirectory: String
    ) -> [PluginSpec] {
        var specs: [String: PluginSpec] = [:]
        for name in BuiltinPlugins.names {
            specs[name] = PluginSpec(
                name: name, executable: selfExecutable,
                arguments: ["plugin", name, "--root", systemRoot, "--state-dir", stateDirectory])
        }
        for directory in directories {
            addExternal(from: directory, to: &specs)
        }
        return specs.keys.sorted().compactMap { specs[$0] }
    }

    private static func addExternal(from directory: String, to specs: inout [String: PluginSpec]) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for file in names.sorted() where !file.hasPrefix(".") {
            let path = directory + "/" + file
            var isDirectory = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory,
                FileManager.default.isExecutableFile(atPath: path)
            else { continue }
            let name = PathText.deletingExtension(file)
            specs[name] = PluginSpec(name: name, executable: path, arguments: [])
        }
    }
}
