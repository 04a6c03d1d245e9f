import ArgumentParser
import Foundation
import RookeryCore
import RookeryServer

struct ClientParametersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client-parameters", abstract: "List, set and unset per-device parameters the audit reads.",
        discussion: """
            Parameters:
              user_email ADDRESS     the device's owner; `bin/issues audit --email` mails them
              user_clients HOST...   the owner's other devices. Links are symmetric, and `set A user_clients \
            B C` links A, B and C with each other. A device does not raise not-reporting while a device \
            linked to it reports (for up to 31 days). Links are direct: A-B and B-C do not link A and C.
            `unset HOST user_clients OTHER...` removes only those links; without OTHER, all of HOST's links. \
            The other devices keep their links with each other.
            """,
        subcommands: [List.self, Set.self, Unset.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "Show a device's parameters.")
        @Argument(help: "Hostname or fingerprint.") var host: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let parameters = ClientParameters(store: try await openAdminContext().store)
            let (device, values) = try await parameters.list(host)
            print(output.json ? ClientParametersFormatter.json(device, values) : ClientParametersFormatter.text(device, values))
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a parameter (user_clients adds links).")
        @Argument(help: "Hostname or fingerprint.") var host: String
        @Argument(help: "user_email or user_clients.") var name: String
        @Argument(help: "The address, or the other hosts.") var values: [String]

        func run() async throws {
            let parameters = ClientParameters(store: try await openAdminContext().store)
            let device = try await parameters.set(host, name, values: values)
            print("set \(name) on \(device.hostname)")
        }
    }

    struct Unset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a parameter, or some user_clients links.")
        @Argument(help: "Hostname or fingerprint.") var host: String
        @Argument(help: "user_email or user_clients.") var name: String
        @Argument(help: "For user_clients: only these links.") var values: [String] = []

        func run() async throws {
            let parameters = ClientParameters(store: try await openAdminContext().store)
            let device = try await parameters.unset(host, name, values: values)
            print("unset \(name)\(values.isEmpty ? "" : " " + values.joined(separator: " ")) on \(device.hostname)")
        }
    }
}
