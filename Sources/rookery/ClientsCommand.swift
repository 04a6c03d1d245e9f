import ArgumentParser
import Foundation
import RookeryCore
import RookeryServer

struct ClientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients", abstract: "See and manage enrolled devices.",
        discussion: "HOST is a hostname or a fingerprint (a unique prefix of 8 or more hex digits works).",
        subcommands: [List.self, Pending.self, Show.self, Accept.self, Reject.self, Revoke.self, Forget.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List devices.")
        @Option(help: "Only devices in this state.") var state: DeviceState?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let devices = try await DeviceAdmin(store: await openAdminContext().store).list(state: state)
            print(output.json ? DeviceFormatter.json(devices) : DeviceFormatter.table(devices))
        }
    }

    struct Pending: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List devices waiting for acceptance.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let devices = try await DeviceAdmin(store: await openAdminContext().store).list(state: .pending)
            print(output.json ? DeviceFormatter.json(devices) : DeviceFormatter.table(devices))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one device, its renames, latest document, history and newest shell sessions.")
        @Argument(help: "Hostname or fingerprint.") var host: String
        @Option(help: "How many history entries to show.") var history = 20
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let admin = DeviceAdmin(store: try await openAdminContext().store)
            let device = try await admin.resolve(host)
            let document = try await admin.document(of: device)
            let changes = try await admin.history(of: device, limit: history)
            let renames = try await admin.renames(of: device)
            let shells = try await admin.shellSessions(of: device, limit: 10)
            print(
                output.json
                    ? DeviceFormatter.json(device, document: document, history: changes, renames: renames, shells: shells)
                    : DeviceFormatter.details(device, document: document, history: changes, renames: renames, shells: shells))
        }
    }

    struct Accept: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Accept a pending (or rejected) device.")
        @Argument(help: "Hostname or fingerprint.") var host: String
        func run() async throws { try await changeState(host, to: .accepted, verb: "accepted") }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a pending device.")
        @Argument(help: "Hostname or fingerprint.") var host: String
        func run() async throws { try await changeState(host, to: .rejected, verb: "rejected") }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a device's key: it may no longer submit.")
        @Argument(help: "Hostname or fingerprint.") var host: String
        func run() async throws { try await changeState(host, to: .revoked, verb: "revoked") }
    }

    struct Forget: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a device, its document and history. Its key may enroll again as pending.",
            discussion: "A revoked device's key is remembered: enrolling again, it waits for `clients accept` whatever token it brings.")
        @Argument(help: "Hostname or fingerprint.") var host: String

        func run() async throws {
            let context = try await openAdminContext()
            let admin = DeviceAdmin(store: context.store, deviceKeys: context.deviceKeyCache)
            let device = try await admin.forget(host)
            print("forgot \(device.hostname) \(device.fingerprint)")
            if device.state == .revoked {
                print("note: the key stays remembered as revoked; if it enrolls again it waits for `bin/clients accept`")
            }
        }
    }
}

private func changeState(_ host: String, to state: DeviceState, verb: String) async throws {
    let admin = DeviceAdmin(store: try await openAdminContext().store)
    let (device, changed) = try await admin.change(host, to: state)
    print(changed ? "\(verb) \(device.hostname)" : "\(device.hostname) was already \(verb)")
    print("fingerprint \(device.fingerprint)")
    for flag in device.flags { print("note: \(flag)") }
}

extension DeviceState: ExpressibleByArgument {}
