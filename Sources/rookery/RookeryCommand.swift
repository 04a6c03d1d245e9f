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
            Exit codes: 0 success, 1 failure, 64 usage error (or settings that cannot be opened).
            """,
        subcommands: [ServerCommand.self, ClientsCommand.self, ClientReleaseCommand.self, PatchHostsCommand.self,
                      ClientCommandCommand.self, ClientWipeCommand.self,
                      IssuesCommand.self, ClientParametersCommand.self, SavePasswordCommand.self,
                      ConfigurePortsCommand.self, SecretKeepingCommand.self, VerifyWorkerCommand.self,
                      EnrollmentCheckCommand.self])
}

/// Opens settings, store and keyring for an admin command, with a readable error.
func openServerContext() throws -> ServerContext {
    do {
        return try ServerContext(root: InstallRoot.fromEnvironment())
    } catch {
        throw ValidationError("\(error)")
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
}
