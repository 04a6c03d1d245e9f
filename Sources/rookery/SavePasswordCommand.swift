import ArgumentParser
import Foundation
import RookeryCore
import RookeryServer

struct SavePasswordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "save-password",
        abstract: "Hash a password and store it in server/settings.yml.",
        discussion: """
            Without --endpoint the hash goes to the server-wide users: (USER may then be named in \
            endpoint_auth users or groups); with --endpoint E it goes to endpoint_auth: E: passwords:, \
            valid for that endpoint only. The hash is passlib's $pbkdf2-sha256$ form. The rest of the \
            file (comments, order, other keys) is kept. Restart the server to use the new password.
            Exit codes: 0 stored, 1 failure, 64 usage error or settings that cannot be read, 65 a password \
            refused, 74 the terminal or the settings file cannot be used.
            """)

    @Option(help: "Store a password for this endpoint only (\(EndpointAuthenticator.endpoints.joined(separator: ", "))).")
    var endpoint: String?
    @Flag(help: "Read the password from the first line of standard input instead of prompting.") var stdin = false
    @Argument(help: "The user name: letters, digits, and . _ @ -.") var user: String

    func validate() throws {
        guard user.range(of: "^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$", options: .regularExpression) != nil else {
            throw ValidationError("user name \(user.debugDescription): use letters, digits and . _ @ - (at most 64)")
        }
        if let endpoint, !EndpointAuthenticator.endpoints.contains(endpoint) {
            throw ValidationError("no endpoint \(endpoint); known: \(EndpointAuthenticator.endpoints.joined(separator: ", "))")
        }
    }

    func run() throws {
        let password = try readPassword()
        let hash = PasswordHash(hashing: password).description
        let file = InstallRoot.fromEnvironment().serverSettings
        try PasswordFile(path: file).store(hash, user: user, endpoint: endpoint)
        print("stored the password of \(user) " + (endpoint.map { "for \($0) " } ?? "") + "in \(file)")
    }

    private func readPassword() throws -> String {
        let password: String
        if stdin {
            password = (readLine(strippingNewline: true) ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
        } else {
            guard isatty(STDIN_FILENO) == 1 else { throw ValidationError("no terminal to prompt on; use --stdin") }
            password = try Terminal.readSecret("Password for \(user): ")
            guard try Terminal.readSecret("Again: ") == password else {
                throw CommandFailure(.input, "the two passwords differ; nothing was stored")
            }
        }
        guard !password.isEmpty else {
            throw CommandFailure(.input, "an empty password; nothing was stored")
        }
        guard password.utf8.count <= PasswordHash.maxPasswordBytes else {
            throw CommandFailure(
                .input,
                "a password over \(PasswordHash.maxPasswordBytes) bytes, which the server never checks; nothing was stored")
        }
        return password
    }
}

/// The terminal's settings while echo is off, for the signal handler to put back. A signal
/// handler can take no lock and capture nothing, hence a global; unsafe only in name:
/// `readSecret` writes it before it installs the handlers and only reads it afterwards, and a
/// command reads one secret at a time, on its main task.
nonisolated(unsafe) private var terminalBeforePrompt = termios()

/// Reads a line from the terminal without echoing it.
enum Terminal {
    static func readSecret(_ prompt: String) throws -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        guard tcgetattr(STDIN_FILENO, &terminalBeforePrompt) == 0 else {
            throw CommandFailure(.io, "cannot read the terminal's settings", hint: "use --stdin")
        }
        var quiet = terminalBeforePrompt
        quiet.c_lflag &= ~tcflag_t(ECHO)
        // Ctrl-C (or a kill) at the prompt must not leave the terminal without echo.
        let signals = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]
        for number in signals {
            signal(number) { caught in
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &terminalBeforePrompt)
                signal(caught, SIG_DFL)
                raise(caught)
            }
        }
        guard tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0 else { throw CommandFailure(.io, "cannot turn off echo", hint: "use --stdin") }
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &terminalBeforePrompt)
            for number in signals { signal(number, SIG_DFL) }
            FileHandle.standardError.write(Data("\n".utf8))
        }
        var line = readLine(strippingNewline: true) ?? ""
        if line.hasSuffix("\r") { line.removeLast() }
        return line
    }
}
