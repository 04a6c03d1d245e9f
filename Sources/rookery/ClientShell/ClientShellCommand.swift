import ArgumentParser
import Foundation
import RookeryCore
import RookeryServer

/// `bin/client_shell HOST`: a root shell on a device, through the running server, end to end
/// encrypted. Exits with the remote shell's status, or 255 when the session could not be opened or
/// broke (as ssh does); 64 for a usage error.
struct ClientShellCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client-shell",
        abstract: "Open a remote shell on a device, list open sessions, or close one.",
        discussion: """
            The device opens the shell itself: its agent (rookery-client agent) answers within seconds; without \
            the agent, its next update does (update_interval). What is typed and shown is encrypted between this \
            command and the device; the server relays it without being able to read it (docs/remote-shell.md).
            Type ~. at the start of a line to end the session (~~ sends one ~).
            Exit status: the remote shell's (or command's), 255 when the session could not be opened or ended \
            without a status (refused, closed, a frame that failed its check, the server lost), 64 usage error.
            The server must have remote_shells: true and endpoint_auth.pipe_create (docs/authentication.md).
            """)

    @Argument(help: "The device: hostname or fingerprint.") var host: String?
    @Option(name: .customLong("command"), help: "Run this command instead of a login shell; print its output, exit with its status.")
    var command: String?
    @Flag(help: "List the sessions requested or open on the server.") var list = false
    @Option(name: .customLong("close"), help: ArgumentHelp("End the session with this id.", valueName: "ID")) var closeID: String?
    @Option(help: "How long to wait for the device to answer, in seconds.") var wait = 300
    @Option(help: "How long to keep trying while the server cannot be reached, in seconds.") var reconnectSeconds = 30
    @OptionGroup var server: ShellServerOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        let modes = [host != nil, list, closeID != nil].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("give a HOST, --list or --close ID (one of them)") }
        if command != nil && host == nil { throw ValidationError("--command needs a HOST") }
        guard (1...86_400).contains(wait) else { throw ValidationError("--wait must be 1 to 86400 seconds") }
        guard (1...3600).contains(reconnectSeconds) else { throw ValidationError("--reconnect-seconds must be 1 to 3600") }
        if let closeID, !ShellOffer.isSessionID(closeID) {
            throw ValidationError("--close takes a session id: 32 lowercase hex digits, as --list shows them")
        }
    }

    func run() throws {
        do {
            let api = try server.api()
            if list { return try printList(api.list()) }
            if let closeID {
                let closed = try api.close(closeID, reason: "closed by the admin (client_shell --close)")
                print(closed ? "closed session \(closeID)" : "session \(closeID) was already over")
                return
            }
            let status = try ShellOpener(api: api, wait: wait, reconnectSeconds: reconnectSeconds)
                .run(host: host!, command: command)
            throw ExitCode(status)
        } catch let failure as AdminShellError {
            FileHandle.standardError.write(Data("client_shell: \(failure)\n".utf8))
            throw ExitCode(255)
        }
    }

    private func printList(_ sessions: [ShellListEntry]) throws {
        if output.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            return print(String(decoding: try encoder.encode(ShellListAnswer(sessions: sessions)), as: UTF8.self))
        }
        guard !sessions.isEmpty else { return print("no shell sessions are requested or open") }
        let header = ["SESSION", "HOST", "STATE", "OPENED BY", "OPENED AT", "TO DEVICE", "TO ADMIN"]
        let rows = sessions.map { session in
            [
                session.sessionID, session.host, session.state, session.openedBy, session.openedAt,
                "\(session.bytesToDevice)", "\(session.bytesToAdmin)"
            ]
        }
        print(TextTable.render([header] + rows))
    }
}
