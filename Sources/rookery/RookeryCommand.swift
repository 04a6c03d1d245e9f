import ArgumentParser
import Foundation
import RookeryCore
import RookeryServer

@main
struct RookeryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rookery",
        abstract: "The Rookery server and its admin commands.",
        discussion: """
            The install root is $ROOKERY_HOME, or the directory above the one holding this binary.
            Settings: <root>/server/settings.yml. Database, keyring and logs: <root>/var/server/.
            Exit codes: 0 success, 1 failure, 64 usage error (or settings, database or keyring that cannot be used).
            """,
        subcommands: [ServerCommand.self, ClientsCommand.self, ClientReleaseCommand.self, PatchHostsCommand.self,
                      ClientCommandCommand.self, ClientWipeCommand.self,
                      IssuesCommand.self, ClientParametersCommand.self, SavePasswordCommand.self,
                      ConfigurePortsCommand.self, SecretKeepingCommand.self, VerifyWorkerCommand.self,
                      EnrollmentCheckCommand.self])

    /// ArgumentParser's own `main`, but with the errors of `run` reported by `report`.
    static func main() async {
        let command: any ParsableCommand
        do { command = try await asyncParseAsRoot() } catch { exit(withError: error) }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var command = command
                try command.run()
            }
        } catch {
            report(error, from: type(of: command))
        }
    }

    /// The one place a command's errors become messages and exit codes. A usage error shows the
    /// usage of the command that was run (ArgumentParser would show the root's); nothing else
    /// shows usage.
    static func report(_ error: any Error, from command: any ParsableCommand.Type) -> Never {
        switch error {
        case let failure as CommandFailure:
            printError(failure.message)
            exit(withError: failure.exitCode)
        case let usage as ValidationError:
            // Worded as ArgumentParser words the usage errors it finds itself.
            let names = commandNames(to: command) ?? [configuration.commandName ?? "rookery"]
            FileHandle.standardError.write(Data("""
                Error: \(usage.message)
                Usage: \(usageString(for: command))
                  See '\(names.joined(separator: " ")) --help' for more information.

                """.utf8))
            exit(withError: ExitCode.validationFailure)
        default:
            exit(withError: error)
        }
    }

    /// "rookery", "issues", "snooze": the names that lead from `node` to `command`.
    private static func commandNames(to command: any ParsableCommand.Type,
                                     from node: any ParsableCommand.Type = RookeryCommand.self) -> [String]? {
        if node == command { return [node._commandName] }
        for subcommand in node.configuration.subcommands {
            if let rest = commandNames(to: command, from: subcommand) { return [node._commandName] + rest }
        }
        return nil
    }
}

/// Opens settings, store and keyring for an admin command; what cannot be opened is exit 64.
func openServerContext() throws -> ServerContext {
    try CommandFailure.opening { try ServerContext(root: InstallRoot.fromEnvironment()) }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
}
