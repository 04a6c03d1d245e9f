import ArgumentParser
import Foundation
import RookeryCore
import RookeryServer

/// Where `client_shell` finds the running server, and who it says it is there.
struct ShellServerOptions: ParsableArguments {
    @Option(help: "The server's URL (default: this host's first plain port from server/settings.yml, on 127.0.0.1).")
    var server: String?
    @Option(help: ArgumentHelp("The CA that signed an https server's certificate.", valueName: "PEM")) var caFile: String?
    @Option(help: "A user of endpoint_auth.pipe_create; the password is asked on the terminal.") var user: String?
    @Option(help: ArgumentHelp("Read the password from the first line of this file instead.", valueName: "FILE"))
    var passwordFile: String?

    func api() throws -> ShellAdminAPI {
        let (url, ca) = try server.map { ($0, caFile) } ?? localServer()
        if user != nil, url.lowercased().hasPrefix("http://"), !Self.isLoopback(url) {
            throw AdminShellError(
                "a password goes in clear over http:// to another host, on every call of the session; "
                    + "use an https:// URL (--server, --ca-file), or run client_shell on the server host")
        }
        return ShellAdminAPI(serverURL: url, headers: try credentials(), caFile: ca ?? caFile)
    }

    /// Whether an http URL's host is this machine's loopback.
    static func isLoopback(_ url: String) -> Bool {
        let rest = url.dropFirst("http://".count)
        return ["127.0.0.1", "localhost", "[::1]"].contains { host in
            rest.hasPrefix(host) && (rest.count == host.count || [":", "/"].contains(rest[rest.index(rest.startIndex, offsetBy: host.count)]))
        }
    }

    /// The server on this host: its first port without TLS, else its first TLS port with the
    /// certificate it serves as the CA (a self-signed certificate must name localhost then).
    private func localServer() throws -> (String, String?) {
        let root = InstallRoot.fromEnvironment()
        let settings: ServerSettings
        do { settings = try SettingsFile.load(ServerSettings.self, from: root.serverSettings) } catch {
            throw AdminShellError("cannot read \(root.serverSettings) to find the server (\(error)); give --server URL")
        }
        let host = ["::", "::1"].contains(settings.listenHost) ? "[::1]" : "127.0.0.1"
        guard let first = settings.listeningPorts.first, first.number != 0 else {
            throw AdminShellError("server/settings.yml names no fixed port (port 0: any free one); give --server URL")
        }
        if let plain = settings.listeningPorts.first(where: { $0.tls == nil }) {
            return ("http://\(host):\(plain.number)", nil)
        }
        guard let tls = first.tls else { throw AdminShellError("server/settings.yml lists no usable port; give --server URL") }
        return ("https://localhost:\(first.number)", root.resolve(tls.certificate))
    }

    private func credentials() throws -> [String: String] {
        guard let user else {
            if passwordFile != nil { throw AdminShellError("--password-file needs --user NAME") }
            return [:]
        }
        let password: String
        if let passwordFile {
            guard let text = FileManager.default.contents(atPath: passwordFile).map({ String(decoding: $0, as: UTF8.self) }) else {
                throw AdminShellError("cannot read the password file \(passwordFile)")
            }
            password = String(text.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
        } else {
            guard isatty(STDIN_FILENO) == 1, let typed = getpass("password for \(user): ") else {
                throw AdminShellError("no terminal to ask the password on; give --password-file FILE")
            }
            password = String(cString: typed)
        }
        return ["Authorization": "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
    }
}
