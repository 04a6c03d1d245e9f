import ArgumentParser
import Foundation
import RookeryClient
import RookeryCore
import RookeryPlugins

@main
struct RookeryClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rookery-client",
        abstract: "The Rookery client: collects facts with plugins, signs them and submits them.",
        discussion: """
            The install root is $ROOKERY_HOME, or the directory above the one holding this binary.
            Settings: <root>/client/settings.yml. State, queue and keys: <root>/var/client/.
            Exit codes: 0 success, 1 failure, 2 usage error, 3 server unreachable or refused.
            """,
        subcommands: [Cron.self, Enroll.self, Collect.self, Submit.self, Status.self, Key.self, Plugin.self])
}

/// Opens the client context, turning settings problems into a clear message.
func openContext(interactive: Bool = true) throws -> ClientContext {
    do {
        return try ClientContext(root: InstallRoot.fromEnvironment(), interactive: interactive)
    } catch {
        throw ValidationError("\(error)")
    }
}

struct Cron: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What cron runs every minute: collect when due, submit when due, else return at once.")

    func run() throws {
        let context = try openContext(interactive: false)
        switch try CronRun(context: context).run() {
        case .busy, .nothingDue:
            return
        case .ran(_, let report):
            if let reason = report?.stoppedBecause, report?.remaining ?? 0 > 0 {
                context.log.info("cron: delivery paused: \(reason)")
            }
        }
    }
}

struct Enroll: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the device key if needed and send it to the server for acceptance.")

    func run() throws {
        let context = try openContext()
        let lock = try context.runLock(wait: true)
        defer { lock?.release() }
        do {
            let state = try Enroller(context: context).enroll()
            print("enrolled: \(state.rawValue)")
            print("fingerprint: \(context.loadState().fingerprint ?? "?")")
            if state == .pending {
                print("An administrator accepts it on the server with: bin/clients accept \(context.hostname)")
            }
        } catch let refusal as ProtocolError {
            FileHandle.standardError.write(Data("error: the server refused enrollment: \(refusal)\n".utf8))
            throw ExitCode(3)
        } catch let error as TransportError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(3)
        }
    }
}

struct Collect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run every plugin now and queue the result.")

    func run() throws {
        let context = try openContext()
        let lock = try context.runLock(wait: true)
        defer { lock?.release() }
        let name = try Collector(context: context).collect()
        try context.recordRun(\.lastCollect, at: Date())
        print("queued \(name)")
    }
}

struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deliver the queued collections now, oldest first.")

    @Flag(help: "Print the result as JSON.") var json = false

    func run() throws {
        let context = try openContext()
        let lock = try context.runLock(wait: true)
        defer { lock?.release() }
        let report = try Submitter(context: context).enrollIfNeededAndSubmit()
        try context.recordRun(\.lastSubmit, at: Date())
        if json {
            let object: JSONValue = .object([
                "delivered": .integer(Int64(report.delivered)), "duplicates": .integer(Int64(report.duplicates)),
                "rejected": .integer(Int64(report.rejected)), "remaining": .integer(Int64(report.remaining)),
                "stopped_because": report.stoppedBecause.map(JSONValue.string) ?? .null,
            ])
            print(object.serializedString)
        } else {
            print("delivered \(report.delivered), duplicates \(report.duplicates), rejected \(report.rejected), kept \(report.remaining)")
            if let reason = report.stoppedBecause { print("paused: \(reason)") }
        }
        if report.stoppedBecause != nil { throw ExitCode(3) }
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show this device's key, enrollment and queue.")

    @Flag(help: "Print the result as JSON.") var json = false

    func run() throws {
        let context = try openContext()
        let state = context.loadState()
        let queue = try context.queue()
        let items = try queue.items()
        let rejected = ((try? FileManager.default.contentsOfDirectory(atPath: queue.rejectedDirectory)) ?? [])
            .filter { $0.hasSuffix(".json") }.count
        let fields: [(String, JSONValue)] = [
            ("hostname", .string(context.hostname)),
            ("fingerprint", state.fingerprint.map(JSONValue.string) ?? .null),
            ("enrollment", .string(state.enrollment.rawValue)),
            ("server_url", .string(context.settings.serverURL)),
            ("queued", .integer(Int64(items.count))),
            ("rejected", .integer(Int64(rejected))),
            ("last_collect", state.lastCollect.map { .string(RFC3339.string(from: $0)) } ?? .null),
            ("last_submit", state.lastSubmit.map { .string(RFC3339.string(from: $0)) } ?? .null),
        ]
        if json {
            print(JSONValue.object(Dictionary(uniqueKeysWithValues: fields)).serializedString)
        } else {
            for (name, value) in fields {
                print("\(name): \(value.stringValue ?? value.serializedString)")
            }
        }
    }
}

struct Key: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the device key's fingerprint, making the key first if there is none.",
        discussion: "Compare it with what `bin/clients accept` prints on the server.")

    func run() throws {
        print(try DeviceIdentity.loadOrCreate(try openContext()).fingerprint)
    }
}

struct Plugin: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one built-in plugin and print its JSON.",
        discussion: "Built-in plugins: \(BuiltinPlugins.names.joined(separator: ", ")).")

    @Argument(help: "The plugin's name.") var name: String
    @Option(help: "Directory the plugin reads the system through.") var root = "/"
    @Option(help: "Writable directory where the plugin may remember things between runs.")
    var stateDir = FileManager.default.temporaryDirectory.path

    func run() throws {
        guard BuiltinPlugins.names.contains(name) else {
            throw ValidationError("no built-in plugin \(name); known: \(BuiltinPlugins.names.joined(separator: ", "))")
        }
        let output = try BuiltinPlugins.run(name: name, root: SystemRoot(path: root), stateDirectory: stateDir)
        FileHandle.standardOutput.write(output)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}
