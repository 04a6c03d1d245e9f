import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import RookeryCore
import Testing

@testable import RookeryServer

/// A server with remote shells on, `pipe_create` for the users alice and bob (Basic auth), and
/// helpers to call the shell endpoints as the admin and as the device.
enum ShellTestServer {
    static let alice = PasswordHash(hashing: "alice-secret", rounds: 1000).description
    static let bob = PasswordHash(hashing: "bob-secret", rounds: 1000).description
    static let adminKey = Data(repeating: 9, count: 32)

    static func context(_ sandbox: Sandbox, configure: (inout ServerSettings) -> Void = { _ in }) async throws -> ServerContext {
        try await makeServerContext(sandbox) { settings in
            settings.remoteShells = true
            settings.agentPollSeconds = 5
            settings.users = ["alice": alice, "bob": bob]
            var auth = EndpointAuthSettings()
            auth.users = ["alice", "bob"]
            settings.endpointAuth = ["pipe_create": auth]
            configure(&settings)
        }
    }

    static func basic(_ user: String) -> String {
        "Basic " + Data("\(user):\(user)-secret".utf8).base64EncodedString()
    }

    /// POST `shell/PATH` as the admin `user`.
    static func admin(
        _ client: some TestClientProtocol, _ path: String, as user: String = "alice", body: Data = Data()
    ) async throws -> TestResponse {
        try await client.execute(
            uri: "/rookery/v1/shell/" + path, method: .post, headers: [.authorization: basic(user)],
            body: ByteBuffer(bytes: body))
    }

    static func json(_ object: [String: JSONValue]) -> Data { Data(JSONValue.object(object).serializedString.utf8) }

    /// Opens a shell to `host` as `user`; returns the session id.
    static func open(_ client: some TestClientProtocol, host: String, as user: String = "alice") async throws -> String {
        let response = try await admin(
            client, "open", as: user,
            body: json(["host": .string(host), "admin_key": .string(adminKey.base64EncodedString()), "rows": .integer(24)]))
        #expect(response.status == .ok)
        return try JSONDecoder().decode(ShellOpenAnswer.self, from: Data(buffer: response.body)).sessionID
    }

    /// The device accepts `id`; returns its token.
    static func accept(_ client: some TestClientProtocol, _ id: String, by device: TestDevice) async throws -> String {
        let response = try await post(
            client,
            try device.sign(
                .shellAccept,
                ["session_id": .string(id), "device_key": .string(Data(repeating: 4, count: 32).base64EncodedString())]))
        #expect(response.status == .ok)
        return try JSONDecoder().decode(ShellAcceptAnswer.self, from: Data(buffer: response.body)).token
    }

    /// POST `shell/ID/device/ACTION` with `token`.
    static func device(
        _ client: some TestClientProtocol, _ id: String, _ action: String, token: String?, body: Data = Data(),
        query: String = ""
    ) async throws -> TestResponse {
        var headers = HTTPFields()
        if let token { headers[HTTPField.Name(WireProtocol.shellTokenHeader)!] = token }
        return try await client.execute(
            uri: "/rookery/v1/shell/\(id)/device/\(action)\(query)", method: .post, headers: headers,
            body: ByteBuffer(bytes: body))
    }

    /// A frame the server takes: a length prefix and that many bytes (it cannot open them anyway).
    static func frame(_ byte: UInt8, count: Int = 40) -> Data {
        let length = UInt32(count)
        return Data((0..<4).reversed().map { UInt8(truncatingIfNeeded: length >> (UInt32($0) * 8)) })
            + Data(repeating: byte, count: count)
    }

    static func lastSeq(_ response: TestResponse) -> Int64? {
        response.headers[HTTPField.Name(WireProtocol.shellLastSequenceHeader)!].flatMap { Int64($0) }
    }

    /// The refusal's `error` code and message.
    static func refusal(_ response: TestResponse) throws -> (code: String, message: String) {
        let body = try JSONDecoder().decode([String: String].self, from: Data(buffer: response.body))
        return (body["error"] ?? "", body["message"] ?? "")
    }
}

/// Collects what a logger logs, one line per entry: the message, then its metadata sorted.
struct CapturingLogHandler: LogHandler {
    let lines: Locked<[String]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(
        level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String,
        function: String, line: UInt
    ) {
        let all = self.metadata.merging(metadata ?? [:]) { $1 }
        let text = "\(message) " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        lines.withLock { $0.append(text) }
    }

    static func logger(into lines: Locked<[String]>) -> Logger {
        Logger(label: "test") { _ in CapturingLogHandler(lines: lines) }
    }
}
