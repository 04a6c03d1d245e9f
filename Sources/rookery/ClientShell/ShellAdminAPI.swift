import Foundation
import RookeryCore
import RookeryCurl

/// The server's admin endpoints for remote shells (`pipe_create` in endpoint_auth), as
/// `client_shell` calls them. See docs/protocol.md, "Remote shells".
struct ShellAdminAPI: Sendable {
    /// `http://127.0.0.1:8080`, without the protocol's path.
    let serverURL: String
    /// The Basic credentials, when the server wants a user rather than an address.
    let headers: [String: String]
    let caFile: String?

    /// A session as the server describes it.
    struct Session: Decodable, Sendable {
        let sessionID: String
        let fingerprint: String
        let host: String?
        let state: String
        let openedBy: String?
        let openedAt: String?
        let lastActivity: String?
        let deviceKey: String?
        let closeReason: String?
        let bytesToDevice: Int64?
        let bytesToAdmin: Int64?
        let command: String?

        enum CodingKeys: String, CodingKey {
            case sessionID = "session_id"
            case fingerprint, host, state, command
            case openedBy = "opened_by"
            case openedAt = "opened_at"
            case lastActivity = "last_activity"
            case deviceKey = "device_key"
            case closeReason = "close_reason"
            case bytesToDevice = "bytes_to_device"
            case bytesToAdmin = "bytes_to_admin"
        }
    }

    func open(host: String, adminKey: Data, term: String?, size: (rows: UInt16, columns: UInt16)?, command: String?)
        throws -> Session
    {
        var body: [String: JSONValue] = ["host": .string(host), "admin_key": .string(adminKey.base64EncodedString())]
        if let term { body["term"] = .string(term) }
        if let size {
            body["rows"] = .integer(Int64(size.rows))
            body["columns"] = .integer(Int64(size.columns))
        }
        if let command { body["command"] = .string(command) }
        return try call("shell/open", body: .object(body), as: Session.self)
    }

    /// The session's state, once it is no longer waiting for the device or after `wait` seconds.
    func state(of id: String, wait: Int) throws -> Session {
        try call("shell/\(id)/state?wait=\(wait)", body: .object([:]), as: Session.self, timeoutSeconds: wait + 15)
    }

    func list() throws -> [Session] {
        struct Listing: Decodable { let sessions: [Session] }
        return try call("shell/list", body: .object([:]), as: Listing.self).sessions
    }

    /// True when the server closed it now, false when it was over already.
    func close(_ id: String, reason: String) throws -> Bool {
        struct Closed: Decodable { let closed: Bool }
        return try call("shell/\(id)/close", body: .object(["reason": .string(reason)]), as: Closed.self).closed
    }

    /// The frame calls of session `id`, with this admin's credentials.
    func link(for id: String, reconnectSeconds: Int) -> ShellLink {
        ShellLink(
            serverURL: serverURL, sessionID: id, side: .admin, headers: headers, caFile: caFile,
            reconnectSeconds: reconnectSeconds)
    }

    private func call<T: Decodable>(_ path: String, body: JSONValue, as type: T.Type, timeoutSeconds: Int = 15) throws -> T {
        let url = serverURL + WireProtocol.pathPrefix + path
        let reply: HTTPReply
        do {
            reply = try HTTPTransport.post(
                url: url, body: body.serialized(), headers: headers, timeoutSeconds: timeoutSeconds, caFile: caFile)
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
