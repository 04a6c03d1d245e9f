import Foundation
import RookeryCore
import RookeryCurl
import RookeryServer

/// The server's admin endpoints for remote shells (`pipe_create` in endpoint_auth), as
/// `client_shell` calls them. See docs/protocol.md, "Remote shells".
struct ShellAdminAPI: Sendable {
    /// `http://127.0.0.1:8080`, without the protocol's path.
    let serverURL: String
    /// The Basic credentials, when the server wants a user rather than an address.
    let headers: [String: String]
    let caFile: String?

    func open(host: String, adminKey: Data, term: String?, size: (rows: UInt16, columns: UInt16)?, command: String?)
        throws -> ShellOpenAnswer
    {
        let body = ShellOpenBody(
            host: host, adminKey: adminKey, term: term, rows: size.map { Int($0.rows) }, columns: size.map { Int($0.columns) },
            command: command)
        return try call("shell/open", body: body, as: ShellOpenAnswer.self)
    }

    /// The session's state, once it is no longer waiting for the device or after `wait` seconds.
    func state(of id: String, wait: Int) throws -> ShellStateAnswer {
        try call("shell/\(id)/state?wait=\(wait)", body: ShellCloseBody?.none, as: ShellStateAnswer.self, timeoutSeconds: wait + 15)
    }

    func list() throws -> [ShellListEntry] {
        try call("shell/list", body: ShellCloseBody?.none, as: ShellListAnswer.self).sessions
    }

    /// True when the server closed it now, false when it was over already.
    func close(_ id: String, reason: String) throws -> Bool {
        try call("shell/\(id)/close", body: ShellCloseBody(reason: reason), as: ShellCloseAnswer.self).closed
    }

    /// The frame calls of session `id`, with this admin's credentials.
    func link(for id: String, reconnectSeconds: Int) -> ShellLink {
        ShellLink(
            serverURL: serverURL, sessionID: id, side: .admin, headers: headers, caFile: caFile,
            reconnectSeconds: reconnectSeconds)
    }

    /// One admin call; `body` nil sends an empty one.
    private func call<Body: Encodable, T: Decodable>(
        _ path: String, body: Body?, as type: T.Type, timeoutSeconds: Int = 15
    ) throws -> T {
        let url = serverURL + WireProtocol.pathPrefix + path
        let reply: HTTPReply
        do {
            reply = try HTTPTransport.post(
                url: url, body: try body.map { try JSONEncoder().encode($0) } ?? Data(), headers: headers,
                timeoutSeconds: timeoutSeconds, caFile: caFile)
        } catch let failure as TransportError {
            throw AdminShellError(
                "cannot reach the server at \(serverURL) (\(failure.description)); is `rookery server` running? "
                    + "Give its address with --server URL")
        }
        guard reply.status == 200 else {
            let refusal = try? JSONDecoder().decode(ProtocolError.self, from: reply.body)
            throw AdminShellError(Self.explain(status: reply.status, refusal?.message))
        }
        do { return try JSONDecoder().decode(T.self, from: reply.body) } catch {
            throw AdminShellError("the server's answer to \(path) could not be read: \(error)")
        }
    }

    static func explain(status: Int, _ message: String?) -> String {
        let said = message.map { LogText.escaped($0, limit: 1024) } ?? "no reason given"
        switch status {
        case 401: return "the server wants credentials for remote shells (endpoint_auth.pipe_create): \(said); give --user NAME"
        case 403: return said
        default: return "the server refused (\(status)): \(said)"
        }
    }
}
