import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RookeryCore

/// The remote shell's routes under `/rookery/v1/` (docs/protocol.md, "Remote shell"): the admin's
/// behind `endpoint_auth.pipe_create`, the device's signed `poll`, `shell_accept` and
/// `shell_refuse`, and the device's frame calls, authenticated by the session's token.
public struct ShellController: Sendable {
    let checks: SignedRequestMiddleware.Checks
    let sessions: ShellSessionService
    let relay: ShellRelay
    let polls: AgentPollService
    let authenticator: EndpointAuthenticator
    let failures: FailureLimiter
    /// `remote_shells`: off, every shell route answers 403 (the agent's poll still works).
    let enabled: Bool

    /// JSON bodies of the shell routes are small: a key, a command, a reason.
    static let maxJSONBodyBytes = 64 << 10
    static let turnedOff = ProtocolError(
        .forbidden,
        "remote shells are turned off on this server (remote_shells in server/settings.yml; docs/remote-shell.md)")

    public var routes: RouteCollection<RookeryRequestContext> {
        let routes = RouteCollection(context: RookeryRequestContext.self)
        routes.add(middleware: RefusalLogMiddleware())
        routes.group().add(middleware: SignedRequestMiddleware(endpoint: .poll, checks: checks))
            .post(RouterPath(WireProtocol.Endpoint.poll.rawValue)) { _, context -> SignedAnswer in
                try await polls.poll(try context.verified(PollRequest.self), connectionOpen: context.connectionOpen)
            }
        guard enabled else {
            for path in ["shell_accept", "shell_refuse", "shell/:a", "shell/:a/:b", "shell/:a/device/:b"] {
                routes.post(RouterPath(path)) { _, _ -> Response in throw Self.turnedOff }
            }
            return routes
        }
        deviceRoutes(routes)
        adminRoutes(routes.group("shell").add(middleware: adminAuth))
        return routes
    }

    private var adminAuth: EndpointAuthMiddleware {
        EndpointAuthMiddleware(
            endpoint: ShellAdminAuth.endpoint, authenticator: authenticator, failures: failures, admissionLevel: .debug)
    }

    private func deviceRoutes(_ routes: RouteCollection<RookeryRequestContext>) {
        routes.group().add(middleware: SignedRequestMiddleware(endpoint: .shellAccept, checks: checks))
            .post(RouterPath(WireProtocol.Endpoint.shellAccept.rawValue)) { request, context -> ShellAcceptAnswer in
                // Kept with the body: the admin's side checks the device's signature itself.
                let signature = request.headers[HTTPField.Name(WireProtocol.signatureHeader)!].flatMap { Data(base64Encoded: $0) }
                return try await sessions.accept(try context.verified(ShellAcceptRequest.self), signature: signature)
            }
        routes.group().add(middleware: SignedRequestMiddleware(endpoint: .shellRefuse, checks: checks))
            .post(RouterPath(WireProtocol.Endpoint.shellRefuse.rawValue)) { _, context -> ShellRefuseAnswer in
                try await sessions.refuse(try context.verified(ShellRefuseRequest.self))
            }
        routes.post("shell/:id/device/send") { request, context -> ShellSendAnswer in
            let record = try await tokenRecord(request, context)
            return ShellSendAnswer(
                seq: try await relay.send(
                    id: record.id, direction: .deviceToAdmin, body: try await frameBody(request), first: try Self.first(request)))
        }
        routes.post("shell/:id/device/receive") { request, context -> Response in
            let record = try await tokenRecord(request, context)
            return try Self.framesResponse(
                try await relay.receive(
                    id: record.id, direction: .adminToDevice, after: try Self.after(request),
                    connectionOpen: context.connectionOpen))
        }
        routes.post("shell/:id/device/close") { request, context -> ShellCloseAnswer in
            let record = try await tokenRecord(request, context)
            let body = try await Self.json(ShellCloseBody.self, request)
            guard let reason = body.reason else { throw ProtocolError(.malformed, "the device's close gives a reason") }
            return try await sessions.close(id: record.id, reason: reason, by: "device \(record.fingerprint)")
        }
    }

    private func adminRoutes(_ shell: RouterGroup<RookeryRequestContext>) {
        shell.post("open") { request, context -> ShellOpenAnswer in
            let body = try await Self.json(ShellOpenBody.self, request)
            return try await sessions.open(body, openedBy: try Self.admin(context))
        }
        shell.post("list") { _, context -> ShellListAnswer in
            _ = try Self.admin(context)
            return try await sessions.list()
        }
        shell.post(":id/state") { request, context -> ShellStateAnswer in
            let wait = try Self.integer("wait", in: request, range: 0...Int64(ShellSessionService.maxStateWait)) ?? 0
            return try await sessions.state(
                id: try Self.id(context), openedBy: try Self.admin(context), wait: Int(wait),
                connectionOpen: context.connectionOpen)
        }
        shell.post(":id/send") { request, context -> ShellSendAnswer in
            let record = try await sessions.ownRecord(id: try Self.id(context), openedBy: try Self.admin(context))
            return ShellSendAnswer(
                seq: try await relay.send(
                    id: record.id, direction: .adminToDevice, body: try await frameBody(request), first: try Self.first(request)))
        }
        shell.post(":id/receive") { request, context -> Response in
            let record = try await sessions.ownRecord(id: try Self.id(context), openedBy: try Self.admin(context))
            return try Self.framesResponse(
                try await relay.receive(
                    id: record.id, direction: .deviceToAdmin, after: try Self.after(request),
                    connectionOpen: context.connectionOpen))
        }
        shell.post(":id/close") { request, context -> ShellCloseAnswer in
            let who = try Self.admin(context)
            let body = try await Self.json(ShellCloseBody.self, request)
            return try await sessions.close(id: try Self.id(context), reason: body.reason ?? "closed by \(who)", by: who)
        }
    }

    /// Who the admin is: `EndpointAuthMiddleware` set it. Without it (pipe_create not configured,
    /// which the start refuses) nobody may use the shell.
    static func admin(_ context: RookeryRequestContext) throws -> String {
        guard let who = context.admittedAs else {
            throw ProtocolError(.forbidden, "endpoint_auth.pipe_create allows nobody; remote shells need it (docs/authentication.md)")
        }
        return who
    }

    /// The session id in the path; one of another shape is no session at all.
    static func id(_ context: RookeryRequestContext) throws -> String {
        let id = context.parameters.get("id") ?? ""
        guard ShellOffer.isSessionID(id) else { throw ProtocolError(.notFound, "there is no shell session \(LogText.escaped(id, limit: 40))") }
        return id
    }

    /// The session a device's frame call names, when its token is that session's; else 401, the
    /// same for a wrong token, a missing one and a session that does not exist.
    private func tokenRecord(_ request: Request, _ context: RookeryRequestContext) async throws -> ShellSessionRecord {
        let id = context.parameters.get("id") ?? ""
        guard ShellOffer.isSessionID(id), let header = request.headers[HTTPField.Name(WireProtocol.shellTokenHeader)!],
            let token = Self.tokenBytes(header), let session = try await sessions.store.shellSession(id: id),
            let record = try await sessions.store.shellSession(
                id: id, fingerprint: session.fingerprint, tokenHash: Data(SHA256.hash(data: token)))
        else { throw ShellRefusal.badToken }
        return record
    }

    /// 64 hex digits as their 32 bytes.
    static func tokenBytes(_ text: String) -> [UInt8]? {
        guard text.utf8.count == 64, text.allSatisfy(InputValidation.isASCIIHex) else { return nil }
        let digits = Array(text.utf8)
        return stride(from: 0, to: 64, by: 2).compactMap { index -> UInt8? in
            UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16)
        }
    }

    private func frameBody(_ request: Request) async throws -> Data {
        try await SignedRequestMiddleware.readBody(request, limit: ShellRelay.maxSendBytes)
    }

    static func json<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let body = try await SignedRequestMiddleware.readBody(request, limit: maxJSONBodyBytes)
        do {
            return try JSONDecoder().decode(T.self, from: body.isEmpty ? Data("{}".utf8) : body)
        } catch {
            throw ProtocolError(.malformed, "the body is not the JSON this endpoint takes: \(LogText.escaped("\(error)"))")
        }
    }

    /// The sender's number for a send's first frame, when it gives one (1 and up).
    static func first(_ request: Request) throws -> Int64? {
        try integer("first", in: request, range: 1...Int64.max)
    }

    static func after(_ request: Request) throws -> Int64 {
        try integer("after", in: request, range: 0...Int64.max) ?? 0
    }

    /// A whole number query parameter within `range`, when given.
    static func integer(_ name: String, in request: Request, range: ClosedRange<Int64>) throws -> Int64? {
        guard let text = request.uri.queryParameters.get(name) else { return nil }
        guard let value = Int64(text), range.contains(value) else {
            throw ProtocolError(.malformed, "\(name) must be a whole number within \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// Frames one after another, and the last one's number in a header.
    static func framesResponse(_ received: ShellRelay.Received) throws -> Response {
        var buffer = ByteBuffer()
        for frame in received.frames { buffer.writeBytes(frame.frame) }
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/octet-stream",
                HTTPField.Name(WireProtocol.shellLastSequenceHeader)!: String(received.lastSeq)
            ],
            body: .init(byteBuffer: buffer))
    }
}

/// The endpoint_auth entry that admits admins to the shell.
enum ShellAdminAuth {
    static let endpoint = "pipe_create"
}
