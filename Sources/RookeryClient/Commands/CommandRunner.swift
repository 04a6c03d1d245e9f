import FoundationEssentials
import RookeryCore

/// Runs the one-time commands in `client/commands/` during a collection. Each runs once in a
/// process group of its own with a hard timeout; its result goes to the server under
/// `commands.<name>`. A command that succeeds is deleted; one that keeps failing is deleted after
/// `command_max_failures` tries. With commands turned off by the device owner, none runs and each
/// is deleted and reported as refused.
public struct CommandRunner: Sendable {
    let context: ClientContext
    static let maxOutputCharacters = 64 * 1024

    public init(context: ClientContext) { self.context = context }

    private var failuresFile: String { context.root.clientState + "/command-failures.json" }
    fileprivate var notesFile: String { context.root.clientState + "/command-notes.json" }

    /// What one collection's commands produced. Nothing is deleted until `finish()`, which the
    /// collector calls once the results are safely queued: a full disk must not lose a result
    /// whose command is already gone.
    public struct Batch {
        public let results: [String: JSONValue]
        let done: [String]
        let failures: [String: Int]
        let runner: CommandRunner

        public func finish() {
            for path in done { try? FileManager.default.removeItem(atPath: path) }
            try? FileManager.default.removeItem(atPath: runner.notesFile)
            runner.saveFailures(failures)
        }
    }

    /// Runs every command; results by command name, including refusals noted since the last collection.
    public func runAll() -> Batch {
        var results = notes()
        var failures = loadFailures()
        var attempted = failures
        var done: [String] = []
        for name in commandNames() {
            let path = context.root.clientCommands + "/" + name
            guard context.settings.allowCommands else {
                done.append(path)
                results[name] = .object(["refused": .string(PatchApplier.commandsOffMessage)])
                context.log.warning("command \(name) refused: commands are turned off")
                continue
            }
            let earlier = failures[name] ?? 0
            // Given up before, but that result never reached the queue (a full disk): say so
            // again without running it once more.
            var result = earlier >= context.settings.commandMaxFailures ? [:] : run(path)
            let succeeded = result["returncode"] == .integer(0)
            let attempts = min(earlier + 1, context.settings.commandMaxFailures)
            result["attempts"] = .integer(Int64(attempts))
            attempted[name] = attempts
            if succeeded || attempts >= context.settings.commandMaxFailures {
                if !succeeded { result["gave_up"] = .bool(true) }
                done.append(path)
                failures[name] = nil
            } else {
                failures[name] = attempts
            }
            context.log.info("command \(name) ran: return code \(result["returncode"]?.serializedString ?? "?")")
            results[name] = .object(result)
        }
        // Every run counts now, before the results are queued: if queueing fails, the next
        // collection must not start the count again (or a failing command runs forever).
        saveFailures(attempted)
        return Batch(results: results, done: done, failures: failures, runner: self)
    }

    /// Remembers a refusal (a command patch refused while commands are off) for the next collection.
    public func note(_ name: String, refused message: String) {
        var notes = (try? JSONValue.parse(FileManager.default.contents(atPath: notesFile) ?? Data()))?.objectValue ?? [:]
        notes[name] = .object(["refused": .string(message)])
        try? AtomicFile.write(JSONValue.object(notes).serialized(), to: notesFile)
    }

    private func notes() -> [String: JSONValue] {
        guard let data = FileManager.default.contents(atPath: notesFile) else { return [:] }
        return (try? JSONValue.parse(data))?.objectValue ?? [:]
    }

    private func commandNames() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: context.root.clientCommands)) ?? []
        return names.sorted().filter { name in
            let path = context.root.clientCommands + "/" + name
            return InputValidation.isCommandName(name)
                && (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeRegular
        }
    }

    private func run(_ path: String) -> [String: JSONValue] {
        var environment = Collector.pluginEnvironment(context)
        // How a command reaches the client's built-ins (`wipe`).
        environment["ROOKERY_CLIENT"] = InstallRoot.currentExecutable
        let timeout = TimeInterval(context.settings.commandTimeout)
        var result: [String: JSONValue] = [:]
        do {
            let ran = try PluginProcess.run(executable: path, arguments: [], environment: environment, timeout: timeout)
            result["output"] = .string(Self.text(ran.stdout))
            result["stderr"] = .string(Self.text(ran.stderr))
            switch ran.ending {
            case .exited(let code): result["returncode"] = .integer(Int64(code))
            case .signaled(let signal): result["returncode"] = .integer(Int64(128 + signal))
            case .timedOut:
                result["returncode"] = .integer(-1)
                result["stderr"] = .string("killed after \(Int(timeout)) s (command_timeout)")
            }
        } catch {
            result = ["output": .string(""), "stderr": .string("could not start: \(error)"), "returncode": .integer(-1)]
        }
        result["finished_at"] = .string(RFC3339.string(from: Date()))
        return result
    }

    private static func text(_ data: Data) -> String {
        String(decoding: data, as: UTF8.self).prefix(maxOutputCharacters).description
    }

    private func loadFailures() -> [String: Int] {
        guard let data = FileManager.default.contents(atPath: failuresFile) else { return [:] }
        return (try? JSONDecoder().decode([String: Int].self, from: data)) ?? [:]
    }

    fileprivate func saveFailures(_ failures: [String: Int]) {
        if let data = try? JSONEncoder().encode(failures) { try? AtomicFile.write(data, to: failuresFile) }
    }
}
