import ArgumentParser
import Foundation
import RookeryCore
import RookeryServer

struct PatchHostsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patch-hosts",
        abstract: "Queue file changes under chosen devices' client/ trees.",
        discussion: """
            TARGET is a path relative to the device's install root, under client/ (for example \
            client/plugins/backup-age.sh); client/settings.yml belongs to the device owner and is never \
            patched. A device applies its patches at its next update check and acknowledges each; \
            a device with a pending patch for TARGET cannot get a second one. Every host is checked \
            before anything is queued: a command queues for all hosts named or for none.
            Deprecated: --host before the subcommand (patch_hosts --host H add ...) still works.
            """,
        subcommands: [Add.self, Remove.self, List.self, Cancel.self])

    /// Takes `--host` ahead of the subcommand too, the form before subcommands
    /// (`patch_hosts --host H add ...`), kept for scripts. ArgumentParser hands the values it
    /// parsed here to each subcommand's `HostSelection`, so every `--host` reaches it either way.
    @OptionGroup(visibility: .hidden) var deprecatedHosts: HostSelection

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the file SOURCE (on this host) to TARGET on each device.")
        @OptionGroup var hosts: HostSelection
        @Option(help: "Permission bits of the written file, in octal.") var mode = "644"
        @OptionGroup var output: OutputOptions
        @Argument(help: "The path on the device, under client/.") var target: String
        @Argument(help: "The file to send.") var source: String

        func validate() throws {
            guard Int(mode, radix: 8) != nil else { throw ValidationError("--mode \(mode) is not octal") }
        }

        func run() async throws {
            guard let content = FileManager.default.contents(atPath: source) else {
                throw CommandFailure(.io, "cannot read \(source)")
            }
            let store = try await openAdminContext().store
            let queued = try await PatchAdmin(store: store).write(
                hosts: try await hosts.hosts(in: store), target: target, content: content, mode: Int(mode, radix: 8)!)
            print(output.json ? PatchFormatter.json(queued) : PatchFormatter.queued(queued))
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete TARGET on each device.")
        @OptionGroup var hosts: HostSelection
        @OptionGroup var output: OutputOptions
        @Argument(help: "The path on the device, under client/.") var target: String

        func run() async throws {
            let store = try await openAdminContext().store
            let queued = try await PatchAdmin(store: store).remove(hosts: try await hosts.hosts(in: store), target: target)
            print(output.json ? PatchFormatter.json(queued) : PatchFormatter.queued(queued))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List pending patches of the named devices, or of every device without --host or --group.")
        @OptionGroup var hosts: HostSelection
        @Flag(help: "Finished patches too.") var all = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let store = try await openAdminContext().store
            let listed = try await PatchAdmin(store: store).list(hosts: try await hosts.hosts(in: store), includeFinished: all)
            print(output.json ? PatchFormatter.json(listed.patches) : PatchFormatter.table(listed))
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel the pending patch of TARGET on each device.")
        @OptionGroup var hosts: HostSelection
        @Argument(help: "The path on the device, under client/.") var target: String

        func run() async throws {
            let store = try await openAdminContext().store
            let cancelled = try await PatchAdmin(store: store).cancel(hosts: try await hosts.hosts(in: store), target: target)
            guard !cancelled.isEmpty else {
                throw CommandFailure(
                    .notFound, "no pending patch for \(target) on \(hosts.described)",
                    hint: "bin/patch_hosts list --host HOST shows what is pending")
            }
            for device in cancelled { print("cancelled \(target) on \(device.hostname)") }
        }
    }
}

/// The devices a patch, command or listing is for: named one by one, or by group.
struct HostSelection: ParsableArguments {
    @Option(name: .long, help: "A device (hostname or fingerprint); repeat for several.") var host: [String] = []
    @Option(name: .long, help: "Every accepted or pending member of this group (bin/groups); repeat for several.")
    var group: [String] = []

    /// The devices to hand on: those named, then each group's members (by fingerprint).
    func hosts(in store: any Store) async throws -> [String] {
        guard !group.isEmpty else { return host }
        return try await GroupAdmin(store: store).targets(hosts: host, groups: group).map(\.fingerprint)
    }

    var described: String { (host + group.map { "group \($0)" }).joined(separator: ", ") }
}

struct ClientCommandCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client-command",
        abstract: "Queue a one-time command on chosen devices.",
        discussion: """
            The command goes to each device as client/commands/NAME. The device runs it at its next \
            collection (with command_timeout), sends {output, stderr, returncode, finished_at} as \
            commands.NAME in its document (see bin/clients show HOST), and deletes it once it \
            succeeds or after command_max_failures failures. A device whose owner set \
            allow_commands: false refuses it and says so.
            """)

    @OptionGroup var hosts: HostSelection
    @Option(help: "A script file to run (it must start with #!).") var file: String?
    @Option(help: "A shell command line to run with /bin/sh.") var command: String?
    @Option(help: "The command's name: its results appear as commands.NAME.") var name: String

    func run() async throws {
        let script: Data
        switch (file, command) {
        case (let file?, nil):
            guard let data = FileManager.default.contents(atPath: file) else { throw CommandFailure(.io, "cannot read \(file)") }
            script = data
        case (nil, let command?):
            script = Data("#!/bin/sh\n\(command)\n".utf8)
        default:
            throw ValidationError("give exactly one of --file F or --command C")
        }
        let store = try await openAdminContext().store
        let queued = try await PatchAdmin(store: store).command(hosts: try await hosts.hosts(in: store), name: name, script: script)
        for (device, _) in queued { print("queued command \(name) on \(device.hostname)") }
    }
}

struct ClientWipeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client-wipe",
        abstract: "Queue a wipe of a lost device: its regular users' homes, processes and accounts.",
        discussion: """
            The device runs it at its next update check and collection, as the one-time command \
            "wipe", and reports what it removed under commands.wipe. It cannot be undone once the \
            device has run it; until then, bin/patch_hosts cancel --host HOST client/commands/wipe \
            takes it back.
            """)

    @Argument(help: "Hostname or fingerprint.") var host: String?
    @Option(help: "Every accepted or pending member of this group instead (bin/groups).") var group: String?
    @Flag(help: "Do not ask; required when not run from a terminal.") var yes = false

    func validate() throws {
        guard (host == nil) != (group == nil) else { throw ValidationError("name one HOST or one --group, not both or neither") }
    }

    func run() async throws {
        let store = try await openAdminContext().store
        let devices = try await GroupAdmin(store: store).targets(hosts: host.map { [$0] } ?? [], groups: group.map { [$0] } ?? [])
        let named =
            group.map { "the \(devices.count) device\(devices.count == 1 ? "" : "s") of group \($0) (\(devices.map(\.hostname).joined(separator: ", ")))" }
            ?? host!
        try Confirmation.require(
            yes: yes, change: "a wipe cannot be undone once the device runs it",
            question: "Wipe every regular user's home and account on \(named)?", answer: group ?? host!,
            undone: "no wipe was queued")
        for (device, patch) in try await PatchAdmin(store: store).wipe(hosts: devices.map(\.fingerprint)) {
            print("queued wipe on \(device.hostname) (\(device.fingerprint)), patch \(patch.id)")
        }
    }
}

/// How patches are printed.
enum PatchFormatter {
    static func queued(_ queued: [(Device, Patch)]) -> String {
        queued.map { device, patch in "queued \(patch.action.rawValue) \(patch.target) on \(device.hostname) (patch \(patch.id))" }
            .joined(separator: "\n")
    }

    static func json(_ queued: [(Device, Patch)]) -> String {
        JSONValue.array(queued.map { patchJSON($1, host: $0.hostname) }).serializedString
    }

    static func table(_ listing: PatchAdmin.Listing) -> String {
        let rows = listing.patches.flatMap { device, patches in
            patches.map {
                [
                    device.hostname, String($0.id), $0.action.rawValue, $0.target, $0.state.rawValue,
                    RFC3339.string(from: $0.createdAt), $0.message
                ]
            }
        }
        guard rows.isEmpty else {
            return TextTable.render([["HOST", "ID", "ACTION", "TARGET", "STATE", "QUEUED", "MESSAGE"]] + rows)
        }
        let finished = listing.finishedLeftOut
        return finished == 0
            ? "no patches"
            : "no pending patches; \(finished) finished (--all shows \(finished == 1 ? "it" : "them"))"
    }

    static func json(_ listed: [(Device, [Patch])]) -> String {
        JSONValue.array(listed.flatMap { device, patches in patches.map { patchJSON($0, host: device.hostname) } }).serializedString
    }

    private static func patchJSON(_ patch: Patch, host: String) -> JSONValue {
        .object([
            "host": .string(host), "fingerprint": .string(patch.fingerprint), "id": .integer(patch.id),
            "target": .string(patch.target), "action": .string(patch.action.rawValue),
            "mode": .string(String(patch.mode, radix: 8)), "state": .string(patch.state.rawValue),
            "created_at": .string(RFC3339.string(from: patch.createdAt)),
            "finished_at": patch.finishedAt.map { .string(RFC3339.string(from: $0)) } ?? .null,
            "message": .string(patch.message)
        ])
    }
}
