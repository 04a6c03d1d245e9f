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
            Exit codes: 0 stored, 1 failure, 64 usage error.
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
        do {
            try PasswordFile(path: file).store(hash, user: user, endpoint: endpoint)
        } catch let error as SettingsError {
            printError(error.description)
            throw ExitCode.failure
        }
        print("stored the password of \(user) " + (endpoint.map { "for \($0) " } ?? "") + "in \(file)")
    }

    private func readPassword() throws -> String {
        let password: String
        if stdin {
            password = readLine(strippingNewline: true) ?? ""
        } else {
            guard isatty(STDIN_FILENO) == 1 else { throw ValidationError("no terminal to prompt on; use --stdin") }
            password = try Terminal.readSecret("Password for \(user): ")
            guard try Terminal.readSecret("Again: ") == password else {
                printError("the two passwords differ; nothing was stored")
                throw ExitCode.failure
            }
        }
        guard !password.isEmpty else {
            printError("an empty password; nothing was stored")
            throw ExitCode.failure
        }
        return password
    }
}

/// server/settings.yml as `save-password` changes it: one edit, checked by reading the result
/// back, written atomically with the file's permissions kept.
struct PasswordFile {
    let path: String

    func store(_ hash: String, user: String, endpoint: String?) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SettingsError("cannot read \(path); create it from server/settings.yml.template first")
        }
        let keys = endpoint.map { ["endpoint_auth", $0, "passwords", user] } ?? ["users", user]
        let edited = SettingsEditor.setting(keys, to: "\"\(hash)\"", in: text)
        let scratch = path + ".save-password"
        // The settings may hold other secrets (the SMTP password): nobody else may read the copy.
        try? FileManager.default.removeItem(atPath: scratch)
        guard FileManager.default.createFile(atPath: scratch, contents: Data(edited.utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw SettingsError("cannot write \(scratch)")
        }
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let settings = try? SettingsFile.load(ServerSettings.self, from: scratch)
        let stored = endpoint.map { settings?.endpointAuth[$0]?.passwords[user] } ?? settings?.users[user]
        guard stored == hash else {
            throw SettingsError("cannot edit \(path) safely (is \(keys.dropLast().joined(separator: ".")) written in flow style?); "
                                + "add this under \(keys.dropLast().joined(separator: ".")) by hand:\n  \(user): \"\(hash)\"")
        }
        // The new file takes the old one's mode, owner and group: server-setup.sh makes it
        // root:rookery 0640 so the server can read it, and root runs this.
        let old = try FileManager.default.attributesOfItem(atPath: path)
        var keep: [FileAttributeKey: Any] = [.posixPermissions: (old[.posixPermissions] as? Int) ?? 0o640]
        if getuid() == 0 {
            keep[.ownerAccountID] = old[.ownerAccountID]
            keep[.groupOwnerAccountID] = old[.groupOwnerAccountID]
        }
        try FileManager.default.setAttributes(keep, ofItemAtPath: scratch)
        guard rename(scratch, path) == 0 else {
            throw SettingsError("cannot replace \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// Reads a line from the terminal without echoing it.
enum Terminal {
    static func readSecret(_ prompt: String) throws -> String {
        FileHandle.standardError.write(Data(prompt.utf8))
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { throw ValidationError("cannot read the terminal's settings") }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        defer {
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        return readLine(strippingNewline: true) ?? ""
    }
}
