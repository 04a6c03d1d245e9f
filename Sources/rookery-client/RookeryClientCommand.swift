import ArgumentParser
import FoundationEssentials
import Glibc
import RookeryClient
import RookeryCore
import RookeryCurl
import RookeryPlugins

@main
struct RookeryClientCommand: ParsableCommand {
    // Every command names itself: deriving names from type names costs client-cron a runtime
    // type lookup per command on every run, and it runs every minute.
    static let configuration = CommandConfiguration(
        commandName: "rookery-client",
        abstract: "The Rookery client: collects facts with plugins, signs them and submits them.",
        discussion: """
            The install root is $ROOKERY_HOME, or the directory above the one holding this binary.
            Settings: <root>/client/settings.yml. State, queue and keys: <root>/var/client/.
            Exit codes: 0 success, 1 failure, 3 server unreachable or refused (not cron: it logs that and exits 0), \
            64 usage error or settings that cannot be read, 74 a file of the device's state \
            that cannot be read or written (docs/operations.md, Exit codes).
            """,
        subcommands: [
            Cron.self, Enroll.self, Collect.self, Submit.self, Update.self, Status.self, Key.self,
            Plugin.self, Wipe.self, AgentCommand.self, ShellSessionCommand.self
        ])

    /// `client-cron` runs `rookery-client cron` every minute on every device, and most minutes
    /// nothing is due. Such a run returns here when the last idle run's quiet window covers it,
    /// before ArgumentParser sets up the commands (its runtime type lookups took a fifth of an
    /// idle run) and before any settings are read (a third, when they were read with Yams). Everything else, and every run the window does not cover, goes to `Cron`.
    static func main() {
        if CommandLine.arguments.dropFirst().elementsEqual(["cron"]),
            QuietWindow.covers(Date(), root: InstallRoot.fromEnvironment())
        {
            return
        }
        var command: any ParsableCommand
        do { command = try parseAsRoot() } catch { exit(withError: error) }
        do { try command.run() } catch { report(error) }
    }

    /// ArgumentParser's own messages start as ours do (`ErrorReport`), through its hook for that
    /// (underscored: experimental; Package.resolved pins the version that has it).
    static var _errorPrefix: String { ErrorReport.prefix }

    /// The one place the client's errors become messages and exit codes: each error's kind
    /// (`ErrorKind`) decides the code. Only usage errors show a usage line (ArgumentParser's).
    /// A command checks its usage in `validate`, where ArgumentParser shows that command's usage
    /// (from `run`, it would show the root's).
    static func report(_ error: any Error) -> Never {
        switch error {
        // Help asked for (`--help` returns a command whose run throws it), and usage errors.
        case _ where exitCode(for: error) == .success, is ValidationError, is ExitCode:
            exit(withError: error)
        default:
            StandardStream.error.write(ErrorReport.text(error))
            exit(withError: ExitCode(ErrorKind(of: error).exitCode))
        }
    }
}

/// Opens the client context. Settings that cannot be used are exit 64 with the message alone
/// (`SettingsError`): they are not a mistake in the command line, so no usage line follows.
func openContext(interactive: Bool = true) throws -> ClientContext {
    try ClientContext(root: InstallRoot.fromEnvironment(), interactive: interactive)
}

struct Cron: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cron",
        abstract: "What cron runs every minute: update, collect and submit when due, else return at once.")

    @Flag(help: .hidden) var afterUpdate = false

    func run() throws {
        // Taken before the settings are read, for the quiet window this run may record.
        let stamps = QuietWindow.stamps(InstallRoot.fromEnvironment())
        let context = try openContext(interactive: false)
        switch try CronRun(context: context).run(afterUpdate: afterUpdate, stamps: stamps) {
        case .busy:
            return
        case .nothingDue:
            Agent.startIfStopped(context)
        case .ran(_, let report):
            if let reason = report?.stoppedBecause, report?.remaining ?? 0 > 0 {
                context.log.info("cron: delivery paused: \(reason)")
            }
            Agent.startIfStopped(context)
        case .installed(let release):
            runNewRelease(release, context: context)
        }
    }

    /// Hands over to the new release's own binary, which collects and submits at once. Should
    /// that fail, this binary does it, so the new release's plugins still report now.
    private func runNewRelease(_ release: Int, context: ClientContext) {
        let binary = context.root.clientCurrentLink + "/lib/rookery/rookery-client"
        let arguments = [binary, "cron", "--after-update"]
        var argv = arguments.map { strdup($0) } + [nil]
        execv(binary, &argv)
        context.log.warning("release \(release): cannot run \(binary) (\(String(cString: strerror(errno)))); collecting with the old binary")
        _ = try? CronRun(context: context).run(afterUpdate: true)
    }
}

struct Enroll: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Make the device key if needed and send it to the server for acceptance.")

    func run() throws {
        let context = try openContext()
        let lock = try context.runLock(wait: true)
        defer { lock?.release() }
        do {
            let state = try Enroller(context: context).enroll()
            let saved = context.loadState()
            let fingerprint = saved.fingerprint ?? "?"
            print("enrolled: \(state.rawValue)")
            print("fingerprint: \(fingerprint)")
            if let known = saved.serverHostname, known != context.hostname {
                print("The server keeps this device's hostname \(known): another device uses \(context.hostname).")
            }
            if state == .pending {
                // The fingerprint names this device even where another one shares its hostname.
                print("An administrator accepts it on the server with: bin/clients accept \(fingerprint)")
            }
        } catch let refusal as ProtocolError {
            throw Refused(what: "enrollment", refusal: refusal)
        }
    }
}

/// The server refused a request: said with what was asked, of the kind of the refusal
/// (`unreachable`, like a server that cannot be reached: nothing was done, try again later).
struct Refused: KindedError {
    let what: String
    let refusal: ProtocolError

    var kind: ErrorKind { refusal.kind }
    var description: String { "the server refused \(what): \(refusal)" }
}

struct Collect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collect", abstract: "Run every plugin now and queue the result.")

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
        commandName: "submit",
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
                "stopped_because": report.stoppedBecause.map(JSONValue.string) ?? .null
            ])
            print(object.serializedString)
        } else {
            print("delivered \(report.delivered), duplicates \(report.duplicates), rejected \(report.rejected), kept \(report.remaining)")
            if let reason = report.stoppedBecause { print("paused: \(reason)") }
        }
        if let hint = report.hint { StandardStream.error.write("hint: \(hint)\n") }
        // Said above, as "paused: REASON".
        if report.stoppedBecause != nil { throw ExitCode(ErrorKind.unreachable.exitCode) }
    }
}

struct Update: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Ask the server for releases, patches and commands now, and apply them.",
        discussion: "Exit codes: 0 done (or nothing to do), 1 a release or patch was refused or failed, 3 server unreachable or refused.")

    @Flag(help: "Print the result as JSON.") var json = false

    func run() throws {
        let context = try openContext()
        let lock = try context.runLock(wait: true)
        defer { lock?.release() }
        let report: UpdateReport
        do {
            report = try Updater(context: context).run()
            try context.recordRun(\.lastUpdate, at: Date())
        } catch let refusal as ProtocolError {
            throw Refused(what: "the update check", refusal: refusal)
        }
        let release = ReleaseInstaller.installedNumber(context.root)
        if json {
            print(
                JSONValue.object([
                    "release": .integer(Int64(release)),
                    "installed": report.installedRelease.map { .integer(Int64($0)) } ?? .null,
                    "release_problem": report.releaseProblem.map(JSONValue.string) ?? .null,
                    "patches_applied": .integer(Int64(report.patchesApplied)),
                    "patches_refused": .integer(Int64(report.patchesRefused)),
                    "patches_failed": .integer(Int64(report.patchesFailed))
                ]).serializedString)
        } else {
            print("release \(release)\(report.installedRelease != nil ? " (just installed)" : "")")
            if let problem = report.releaseProblem { print("release not installed: \(problem)") }
            print("patches: \(report.patchesApplied) applied, \(report.patchesRefused) refused, \(report.patchesFailed) failed")
        }
        // Said above, in the report.
        if report.releaseProblem != nil || report.patchesRefused + report.patchesFailed > 0 { throw ExitCode(ErrorKind.failed.exitCode) }
    }
}

struct Wipe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wipe",
        abstract: "Wipe the regular users of this device: remove their homes, end their processes, delete their accounts.",
        discussion: """
            Acts on the system under system_root in client/settings.yml ("/" on a real device). This is \
            what `bin/client_wipe HOST` on the server queues; it cannot be undone. Prints a JSON report.
            """)

    @Flag(help: "Required: says you mean it.") var confirm = false

    func validate() throws {
        guard confirm else { throw ValidationError("wipe deletes user accounts and their files; add --confirm to proceed") }
    }

    func run() throws {
        let context = try openContext()
        context.log.warning("wipe of the system under \(context.settings.systemRoot) starting")
        let report = SystemWipe(systemRoot: context.settings.systemRoot).run()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
        context.log.warning("wipe done: \(report.deletedAccounts.count) accounts deleted, \(report.errors.count) errors")
        if !report.errors.isEmpty { throw ExitCode(ErrorKind.failed.exitCode) }  // listed in the report
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show this device's key, enrollment, queue, and its settings with where each comes from.")

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
            // Where requests go first: with server_urls, the one that answered last.
            ("server_url", .string(context.connection.baseURL)),
            ("server_urls", .array(context.settings.serverURLs.map(JSONValue.string))),
            ("release", .integer(Int64(ReleaseInstaller.installedNumber(context.root)))),
            ("commands_allowed", .bool(context.settings.allowCommands)),
            ("settings_problem", context.settingsProblem.map(JSONValue.string) ?? .null),
            ("queued", .integer(Int64(items.count))),
            ("rejected", .integer(Int64(rejected))),
            ("last_collect", state.lastCollect.map { .string(RFC3339.string(from: $0)) } ?? .null),
            ("last_submit", state.lastSubmit.map { .string(RFC3339.string(from: $0)) } ?? .null),
            ("last_update", state.lastUpdate.map { .string(RFC3339.string(from: $0)) } ?? .null)
        ]
        let sourced = sourcedSettings(context)
        if json {
            let settings = sourced.map { name, value, source in
                (
                    name,
                    JSONValue.object([
                        "value": value, "source": .string(source.kind),
                        "file": source.file.map(JSONValue.string) ?? .null
                    ])
                )
            }
            let setAside = JSONValue.array(context.settingSources.setAside.map(JSONValue.string))
            print(
                JSONValue.object(
                    Dictionary(
                        uniqueKeysWithValues: fields + [
                            ("settings", .object(Dictionary(uniqueKeysWithValues: settings))), ("set_aside", setAside)
                        ])
                ).serializedString)
        } else {
            for (name, value) in fields {
                print("\(name): \(value.stringValue ?? value.serializedString)")
            }
            print("settings, and where each comes from:")
            for (name, value, source) in sourced {
                print("  \(name): \(value.stringValue ?? value.serializedString)  [\(source)]")
            }
            for key in context.settingSources.setAside {
                print(
                    "  (\(key) in \(context.root.clientSettings) is set aside: the release manages it; "
                        + "keep_server_url: true there keeps the owner's)")
            }
        }
    }

    /// The settings that decide where and how often this device reports, each with its value and
    /// where that came from: the release, the fleet's (the server's), the owner's
    /// client/settings.yml, or the default.
    private func sourcedSettings(_ context: ClientContext) -> [(String, JSONValue, SettingSource)] {
        let settings = context.settings
        let sources = context.settingSources
        let ca: (JSONValue, SettingSource) =
            context.pinnedCA.map { (.string($0), .release(file: $0)) }
            ?? (.string("the system's CAs"), .builtIn)
        return [
            ("server_url", .string(settings.serverURL), sources.source(of: "server_url")),
            (
                "server_urls", settings.serverURLList.isEmpty ? .null : .string(settings.serverURLList.joined(separator: " ")),
                sources.source(of: "server_urls")
            ),
            ("server_ca", ca.0, ca.1),
            ("hostname", .string(context.hostname), sources.source(of: "hostname")),
            ("collect_interval", .integer(Int64(settings.collectInterval)), sources.source(of: "collect_interval")),
            ("submit_interval", .integer(Int64(settings.submitInterval)), sources.source(of: "submit_interval")),
            ("update_interval", .integer(Int64(settings.updateInterval)), sources.source(of: "update_interval")),
            ("allow_commands", .bool(settings.allowCommands), sources.source(of: "allow_commands")),
            ("allow_shells", .bool(settings.allowShells), sources.source(of: "allow_shells")),
            ("shell_account", .string(settings.shellAccount), sources.source(of: "shell_account")),
            ("agent", .bool(settings.agent), sources.source(of: "agent")),
            ("plugin_timeout", .integer(Int64(settings.pluginTimeout)), sources.source(of: "plugin_timeout")),
            ("command_timeout", .integer(Int64(settings.commandTimeout)), sources.source(of: "command_timeout")),
            (
                "disabled_plugins", .string(settings.disabledPlugins.joined(separator: " ")),
                sources.source(of: "disabled_plugins")
            ),
            ("manage_firewall", .bool(settings.manageFirewall), sources.source(of: "manage_firewall")),
            ("manage_ssh_keys", .bool(settings.manageSSHKeys), sources.source(of: "manage_ssh_keys"))
        ]
    }
}

struct Key: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Print the device key's fingerprint, making the key first if there is none.",
        discussion: "Compare it with what `bin/clients accept` prints on the server.")

    func run() throws {
        print(try DeviceIdentity.loadOrCreate(try openContext()).fingerprint)
    }
}

struct Plugin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugin",
        abstract: "Run one built-in plugin and print its JSON.",
        discussion: "Built-in plugins: \(BuiltinPlugins.names.joined(separator: ", ")).")

    @Argument(help: "The plugin's name.") var name: String
    @Option(help: "Directory the plugin reads the system through.") var root = "/"
    @Option(help: "Writable directory where the plugin may remember things between runs.")
    var stateDir = FileManager.default.temporaryDirectory.path

    func validate() throws {
        guard BuiltinPlugins.names.contains(name) else {
            throw ValidationError("no built-in plugin \(name); known: \(BuiltinPlugins.names.joined(separator: ", "))")
        }
    }

    func run() throws {
        let output = try BuiltinPlugins.run(name: name, root: SystemRoot(path: root), stateDirectory: stateDir)
        StandardStream.output.write(output)
        StandardStream.output.write("\n")
    }
}

struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Keep one request to the server open, so remote shells open in seconds and urgent updates arrive at once.",
        discussion: """
            One agent runs per install root; another exits at once (status 0) unless --wait. client-cron \
            starts it when `agent: true` (the default) and none runs; the systemd unit rookery-agent.service \
            that client-setup.sh writes runs it with --wait. It logs to var/client/client.log, reconnects \
            with backoff (1 s doubling to 60 s), and exits 0 on SIGTERM, 78 when `agent: false`.
            """)

    @Flag(help: "Wait while another agent runs, instead of exiting.") var wait = false

    /// EX_CONFIG: the settings turned the agent off; the systemd unit does not restart it then.
    static let turnedOffStatus: Int32 = 78

    func run() throws {
        // Nothing to finish that a restart would not redo: the poll is read-only, and an update
        // in progress is atomic (its run lock goes with the process).
        signal(SIGTERM) { _ in _exit(0) }
        // A parent may have left signals blocked (a test's or a supervisor's thread): then SIGTERM
        // would wait forever. The agent takes it whatever it was started with.
        var stopping = sigset_t()
        sigemptyset(&stopping)
        sigaddset(&stopping, SIGTERM)
        sigprocmask(SIG_UNBLOCK, &stopping, nil)
        let root = InstallRoot.fromEnvironment()
        switch try Agent(root: root).run(waitForLock: wait) {
        case .alreadyRunning:
            StandardStream.error.write("an agent already runs for \(root.path) (\(Agent.lockPath(root)) is held)\n")
        case .rootRemoved:
            return
        case .turnedOff:
            throw ExitCode(Self.turnedOffStatus)
        case .installed:
            runNewRelease(root, collect: true)
        case .replaced:
            runNewRelease(root, collect: false)
        }
    }

    /// The new release's binary takes over as the agent; after the agent's own update, the new
    /// release also collects and submits at once (as cron does after an update).
    private func runNewRelease(_ root: InstallRoot, collect: Bool) {
        let binary = root.clientCurrentLink + "/lib/rookery/rookery-client"
        if collect { _ = ShellLauncher.spawnDetached(binary, ["cron", "--after-update"], root: root, stdin: nil, extra: nil) }
        let arguments: [String] = [binary, "agent"] + (wait ? ["--wait"] : [])
        var argv = arguments.map { strdup($0) } + [nil]
        execv(binary, &argv)
        // The old binary cannot run the new one: stop, and client-cron or systemd starts the new one.
    }
}

struct ShellSessionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell-session",
        abstract: "Run one remote shell session: the shell offer (JSON) comes on stdin.",
        discussion: """
            client-cron and the agent start this, detached, for each shell the server's signed answer \
            offers (docs/remote-shell.md). It refuses the shell when allow_shells is false or the offer \
            is not valid, else opens it as shell_account and relays it until it ends; it exits with the \
            shell's status. Each session is logged in var/client/shell/sessions.log.
            """,
        shouldDisplay: false)

    @Flag(help: .hidden) var locked = false

    /// An offer is a few hundred bytes; a 16 KiB command at most makes it larger.
    static let maxOfferBytes = 64 * 1024

    func run() throws {
        let context = try openContext(interactive: false)
        let offer = try readOffer()
        let root = context.root
        // The launcher hands its lock over as descriptor 3; run by hand, take it here.
        var ownLock: FileLock?
        if !locked {
            _ = try? FileManager.default.createDirectory(atPath: ShellLauncher.directory(root), withIntermediateDirectories: true)
            ownLock = try FileLock.ifFree(path: ShellLauncher.lockPath(root, offer.sessionID), access: .owner)
            guard ownLock != nil else { throw ValidationError("shell session \(offer.sessionID) is already running") }
        }
        defer { ownLock?.release() }
        // Under the lock: the launcher's check came before it, and a child may have finished since.
        if ShellLauncher.isDone(root, offer.sessionID) {
            context.log.info("shell \(offer.sessionID): already done, not started again")
            return
        }
        let status: Int32
        do {
            status = DeviceShellRun(context: context, offer: try CheckedShellOffer(offer)).run()
        } catch {
            DeviceShellRun.refuse(sessionID: offer.sessionID, reason: "the device refused the shell request: \(error)", context: context)
            status = 1
        }
        _ = FileManager.default.createFile(atPath: ShellLauncher.donePath(root, offer.sessionID), contents: nil)
        if status != 0 { throw ExitCode(status) }
    }

    /// The offer on stdin, bounded; its session id checked before it names any file.
    private func readOffer() throws -> ShellOffer {
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while data.count <= Self.maxOfferBytes {
            let count = read(0, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            data.append(contentsOf: chunk[..<count])
        }
        guard data.count <= Self.maxOfferBytes else { throw ValidationError("the shell offer on stdin is over \(Self.maxOfferBytes) bytes") }
        guard let offer = try? JSONDecoder().decode(ShellOffer.self, from: data) else {
            throw ValidationError("stdin does not hold a shell offer (JSON with session_id, admin_key and opened_by)")
        }
        guard ShellOffer.isSessionID(offer.sessionID) else { throw ValidationError("the offer's session_id is not 32 lowercase hex digits") }
        return offer
    }
}
