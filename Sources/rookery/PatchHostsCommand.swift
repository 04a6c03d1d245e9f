import ArgumentParser
import Foundation
import RookeryCore
import RookeryServer

struct PatchHostsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patch-hosts",
        abstract: "Queue file changes under chosen devices' client/ trees.",
        discussion: """
            ACTION is one of:
              add TARGET SRC     write the file SRC (on this host) to TARGET on each device
              remove TARGET      delete TARGET on each device
              list               pending patches (--all: finished ones too)
              cancel TARGET      cancel the pending patch of TARGET
            TARGET is a path relative to the device's install root, under client/ (for example \
            client/plugins/backup-age.sh); client/settings.yml belongs to the device owner and is never \
            patched. A device applies its patches at its next update check and acknowledges each; \
            a device with a pending patch for TARGET cannot get a second one.
            """)

    @Option(name: .long, help: "A device (hostname or fingerprint); repeat for several.") var host: [String] = []
    @Option(help: "Permission bits of the written file, in octal.") var mode = "644"
    @Flag(help: "With list: finished patches too.") var all = false
    @Flag(help: "Print JSON.") var json = false
    @Argument(help: "add, remove, list or cancel.") var action: String
    @Argument(help: "TARGET, and SRC for add.") var paths: [String] = []

    func run() async throws {
        let admin = PatchAdmin(context: try openServerContext())
        switch (action, paths.count) {
        case ("add", 2):
            guard let bits = Int(mode, radix: 8) else { throw ValidationError("--mode \(mode) is not octal") }
            guard let content = FileManager.default.contents(atPath: paths[1]) else {
                throw CommandFailure(.io, "cannot read \(paths[1])")
            }
            let queued = try await admin.write(hosts: host, target: paths[0], content: content, mode: bits)
            PatchFormatter.printQueued(queued, json: json)
        case ("remove", 1):
            let queued = try await admin.remove(hosts: host, target: paths[0])
            PatchFormatter.printQueued(queued, json: json)
        case ("list", 0):
            let listed = try await admin.list(hosts: host, includeFinished: all)
            print(json ? PatchFormatter.json(listed.patches) : PatchFormatter.table(listed))
        case ("cancel", 1):
            let cancelled = try await admin.cancel(hosts: host, target: paths[0])
            guard !cancelled.isEmpty else {
                throw CommandFailure(.notFound, "no pending patch for \(paths[0]) on \(host.joined(separator: ", "))",
                                     hint: "bin/patch_hosts --host HOST list shows what is pending")
            }
            for device in cancelled { print("cancelled \(paths[0]) on \(device.hostname)") }
        default:
            throw ValidationError("usage: patch_hosts --host H [--host H ...] add [--mode OCT] TARGET SRC | remove TARGET | list | cancel TARGET")
        }
    }
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

    @Option(name: .long, help: "A device (hostname or fingerprint); repeat for several.") var host: [String] = []
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
        let admin = PatchAdmin(context: try openServerContext())
        let queued = try await admin.command(hosts: host, name: name, script: script)
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
            device has run it; until then, bin/patch_hosts --host HOST cancel client/commands/wipe \
            takes it back.
            """)

    @Argument(help: "Hostname or fingerprint.") var host: String
    @Flag(help: "Do not ask; required when not run from a terminal.") var yes = false

    func run() async throws {
        let admin = PatchAdmin(context: try openServerContext())
        if !yes {
            guard isatty(STDIN_FILENO) != 0 else { throw ValidationError("add --yes to wipe without a question") }
            print("Wipe every regular user's home and account on \(host)? Type the host name to confirm: ", terminator: "")
            guard readLine() == host else { throw ValidationError("not confirmed; nothing queued") }
        }
        let (device, patch) = try await admin.wipe(host: host)
        print("queued wipe on \(device.hostname) (\(device.fingerprint)), patch \(patch.id)")
    }
}

/// How patches are printed.
enum PatchFormatter {
    static func printQueued(_ queued: [(Device, Patch)], json: Bool) {
        if json {
            print(JSONValue.array(queued.map { patchJSON($1, host: $0.hostname) }).serializedString)
        } else {
            for (device, patch) in queued { print("queued \(patch.action.rawValue) \(patch.target) on \(device.hostname) (patch \(patch.id))") }
        }
    }

    static func table(_ listing: PatchAdmin.Listing) -> String {
        let rows = listing.patches.flatMap { device, patches in
            patches.map { [device.hostname, String($0.id), $0.action.rawValue, $0.target, $0.state.rawValue,
                           RFC3339.string(from: $0.createdAt), $0.message] }
        }
        guard rows.isEmpty else {
            return TextTable.render([["HOST", "ID", "ACTION", "TARGET", "STATE", "QUEUED", "MESSAGE"]] + rows)
        }
        let finished = listing.finishedLeftOut
        return finished == 0 ? "no patches"
            : "no pending patches; \(finished) finished (--all shows \(finished == 1 ? "it" : "them"))"
    }

    static func json(_ listed: [(Device, [Patch])]) -> String {
        JSONValue.array(listed.flatMap { device, patches in patches.map { patchJSON($0, host: device.hostname) } }).serializedString
    }

    static func patchJSON(_ patch: Patch, host: String) -> JSONValue {
        .object([
            "host": .string(host), "fingerprint": .string(patch.fingerprint), "id": .integer(patch.id),
            "target": .string(patch.target), "action": .string(patch.action.rawValue),
            "mode": .string(String(patch.mode, radix: 8)), "state": .string(patch.state.rawValue),
            "created_at": .string(RFC3339.string(from: patch.createdAt)),
            "finished_at": patch.finishedAt.map { .string(RFC3339.string(from: $0)) } ?? .null,
            "message": .string(patch.message),
        ])
    }
}
