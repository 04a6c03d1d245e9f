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
            Exit codes: 0 success, 1 failure, 4 not found, 5 conflict, 64 usage error or settings that cannot be \
            used, 65 a value refused, 74 a file that cannot be read or written (docs/operations.md, Exit codes).
            """,
        subcommands: [
            ServerCommand.self, ClientsCommand.self, ClientReleaseCommand.self, PatchHostsCommand.self,
            ClientCommandCommand.self, ClientWipeCommand.self, ClientShellCommand.self,
            IssuesCommand.self, ClientParametersCommand.self, SavePasswordCommand.self,
            ConfigurePortsCommand.self, SecretKeepingCommand.self, VerifyWorkerCommand.self,
            EnrollmentCheckCommand.self, MigrateStoreCommand.self, GroupsCommand.self
        ])

    /// ArgumentParser's own messages start as ours do (`ErrorReport`), through its hook for that
    /// (underscored: experimental; Package.resolved pins the version that has it).
    static var _errorPrefix: String { ErrorReport.prefix }

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

    /// The one place a command's errors become messages and exit codes: each error's kind
    /// (`ErrorKind`, `failed` for an error that has none) decides the code. A usage error shows
    /// the usage of the command that was run (ArgumentParser would show the root's); nothing else
    /// shows usage. A setting of server/settings.yml is said with its file and line.
    static func report(_ error: any Error, from command: any ParsableCommand.Type) -> Never {
        switch error {
        case _ where exitCode(for: error) == .success:
            // Help asked for: `--help` parses as a command whose run throws it.
            exit(withError: error)
        case let usage as ValidationError:
            // Worded as ArgumentParser words the usage errors it finds itself.
            let names = commandNames(to: command) ?? [configuration.commandName ?? "rookery"]
            FileHandle.standardError.write(
                Data(
                    """
                    \(ErrorReport.prefix)\(usage.message)
                    Usage: \(usageString(for: command))
                      See '\(names.joined(separator: " ")) --help' for more information.

                    """.utf8))
            exit(withError: ExitCode(.usage))
        case let said as ExitCode:
            exit(withError: said)
        case let settings as SettingsError:
            say(SettingsFile.placed(settings, file: InstallRoot.fromEnvironment().serverSettings))
        default:
            say(error)
        }
    }

    private static func say(_ error: any Error) -> Never {
        FileHandle.standardError.write(Data(ErrorReport.text(error).utf8))
        exit(withError: ExitCode(ErrorKind(of: error)))
    }

    /// "rookery", "issues", "snooze": the names that lead from `node` to `command`.
    private static func commandNames(
        to command: any ParsableCommand.Type,
        from node: any ParsableCommand.Type = RookeryCommand.self
    ) -> [String]? {
        if node == command { return [node._commandName] }
        for subcommand in node.configuration.subcommands {
            if let rest = commandNames(to: command, from: subcommand) { return [node._commandName] + rest }
        }
        return nil
    }
}

/// Opens settings, store and keyring for an admin command; what cannot be opened is exit 64.
func openServerContext() async throws -> ServerContext {
    try await CommandFailure.openingAsynchronously { try await ServerContext(root: InstallRoot.fromEnvironment()) }
}

/// One of several errors a command reports before it exits (`throw ExitCode(kind)`).
func printError(_ message: String) {
    FileHandle.standardError.write(Data((ErrorReport.prefix + message + "\n").utf8))
}
