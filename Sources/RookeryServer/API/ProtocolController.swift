import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import RookeryCore

/// The client-facing routes: `POST /rookery/v1/<endpoint>`.
public struct ProtocolController: Sendable {
    let verifier: RequestVerifier
    let enrollment: EnrollmentService
    let submissions: SubmissionService
    let updates: UpdateService
    let files: FileStreamer
    let maxBodyBytes: Int
    /// Whether the latest release may be fetched with GET (for bootstrapping new devices)...
    let releaseDownload: Bool
    /// ...and by whom (endpoint_auth.download_release).
    let authenticator: EndpointAuthenticator
    let failures: FailureLimiter

    public func addRoutes(to router: Router<RookeryRequestContext>) {
        router.post("rookery/v1/:endpoint") { request, context in
            await self.handle(request, context: context)
        }
        router.get("rookery/v1/download_release") { request, context in
            await self.downloadLatestRelease(request, context: context)
        }
    }

    func handle(_ request: Request, context: RookeryRequestContext) async -> Response {
        let peer = context.peer
        let name = context.parameters.get("endpoint") ?? ""
        do {
            guard let endpoint = WireProtocol.Endpoint(rawValue: name) else {
                throw ProtocolError(.notFound, "no endpoint \(name)")
            }
            let address = clientAddress(request, context: context)
            // An address that used up its guesses (tokens, passwords) enrolls nothing, before gpg.
            if endpoint == .enroll, failures.isBlocked(FailureLimiter.key(for: address)) {
                throw ProtocolError(.tooManyFailures, "too many failed attempts from \(address); wait a few minutes")
            }
            let body = try await readBody(request, limit: endpoint == .enroll ? min(maxBodyBytes, WireProtocol.maxEnrollBodyBytes) : maxBodyBytes)
            let verified = try await verifier.verify(
                endpoint: endpoint, body: body,
                signatureHeader: request.headers[HTTPField.Name(WireProtocol.signatureHeader)!])
            switch endpoint {
            case .enroll: return try Self.json(await enrollment.enroll(verified, from: address))
            case .submit: return try Self.json(await submissions.submit(verified))
            case .update: return Self.signed(try await updates.update(verified))
            case .release: return try await files.response(path: try await updates.releaseTarball(verified))
            case .acknowledgePatch: return try Self.json(await updates.acknowledge(verified))
            }
        } catch let refusal as ProtocolError {
            // Refusals quote what the peer sent (a patch target, a key, a name): escaped.
            context.logger.warning("refused \(LogText.escaped(name)): \(refusal.error.rawValue): \(LogText.escaped(refusal.message))",
                                   metadata: ["peer": "\(peer)"])
            return Self.errorResponse(refusal)
        } catch {
            context.logger.error("failed \(LogText.escaped(name)): \(LogText.escaped("\(error)"))", metadata: ["peer": "\(peer)"])
            return Self.errorResponse(ProtocolError(.internalError, "the server could not complete the request"))
        }
    }

    /// `GET /rookery/v1/download_release`: the latest release, for a new device's first install;
    /// off unless `release_download` is set. What a device installs is checked against the
    /// signed manifest inside, whoever served it.
    func downloadLatestRelease(_ request: Request, context: RookeryRequestContext) async -> Response {
        let peer = context.peer
        do {
            guard releaseDownload else {
                throw ProtocolError(.forbidden, "release download is turned off (release_download in server/settings.yml)")
            }
            try await admit(request, to: "download_release", context: context)
            let releases = updates.releases
            guard let latest = try await updates.pool.run({ try releases.latest() }) else {
                throw ProtocolError(.notFound, "no release has been published yet (bin/client_release)")
            }
            context.logger.notice("release \(latest.number) downloaded", metadata: ["peer": "\(peer)"])
            return try await files.response(path: updates.releases.tarballPath(latest.number),
                                            fileName: "rookery-client-\(latest.number).tar.gz")
        } catch let refusal as ProtocolError {
            // An authentication refusal was logged by `admit`, with the address it judged.
            if refusal.error != .unauthorized {
                context.logger.warning("refused download_release: \(refusal.message)", metadata: ["peer": "\(peer)"])
            }
            return Self.errorResponse(refusal)
        } catch {
            context.logger.error("failed download_release: \(error)", metadata: ["peer": "\(peer)"])
            return Self.errorResponse(ProtocolError(.internalError, "the server could not complete the request"))
        }
    }

    /// Lets the request through `endpoint_auth`, or throws the refusal; logs who came in, and who
    /// was turned away, with the address judged.
    private func admit(_ request: Request, to endpoint: String, context: RookeryRequestContext) async throws {
        guard authenticator.isConfigured(endpoint) else { return }
        let peer = context.remoteAddress?.ipAddress
        let forwardedFor = request.headers[HTTPField.Name("X-Forwarded-For")!]
        let authorization = request.headers[.authorization]
        let address = clientAddress(request, context: context)
        let failureKey = FailureLimiter.key(for: address)
        // Credentials are counted as a failure before they are checked, so that parallel guesses
        // all count; the count is given back if they admit. Only credentials count: a first try
        // without any (as browsers and curl without -u make) is the normal start of a Basic exchange.
        let throttled = ProtocolError(.tooManyFailures, "too many failed attempts from \(address); wait a few minutes")
        var reservation: FailureLimiter.Reservation?
        if authorization != nil {
            guard let counted = failures.reserve(failureKey) else { throw throttled }
            reservation = counted
        } else if failures.isBlocked(failureKey) {
            throw throttled
        }
        let decision = try await authenticator.decideOffTheEventLoop(endpoint, peer: peer, forwardedFor: forwardedFor,
                                                                     authorization: authorization)
        switch decision {
        case .allowed(let how):
            if let reservation { failures.giveBack(reservation) }
            context.logger.notice("\(endpoint) admitted: \(how)", metadata: ["address": "\(address)"])
        case .refused(let user, let reason):
            context.logger.warning("\(endpoint) refused: \(reason)",
                                   metadata: ["address": "\(address)", "user": "\(user ?? "-")"])
            throw ProtocolError(.unauthorized, "\(endpoint) needs an allowed address or a user name and password")
        }
    }

    /// The address a request is judged and throttled by: the peer's, or behind a trusted proxy
    /// the client's from X-Forwarded-For; "unknown" when there is none.
    private func clientAddress(_ request: Request, context: RookeryRequestContext) -> String {
        authenticator.clientAddress(peer: context.remoteAddress?.ipAddress,
                                    forwardedFor: request.headers[HTTPField.Name("X-Forwarded-For")!]) ?? "unknown"
    }

    /// Reads the body, refusing anything over `limit` before it is read whole.
    private func readBody(_ request: Request, limit: Int) async throws -> Data {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw ProtocolError(.bodyTooLarge, "body of \(length) bytes is over the limit of \(limit)")
        }
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Data(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw ProtocolError(.bodyTooLarge, "body is over the limit of \(limit) bytes")
        }
    }

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A signed answer: the exact bytes, and the server's signature over them in the header.
    static func signed(_ answer: SignedAnswer) -> Response {
        Response(status: .ok,
                 headers: [.contentType: "application/json",
                           HTTPField.Name(WireProtocol.signatureHeader)!: answer.signature.base64EncodedString()],
                 body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    static func errorResponse(_ error: ProtocolError) -> Response {
        let status = HTTPResponse.Status(code: error.error.httpStatus)
        var response = (try? json(error, status: status)) ?? Response(status: status)
        if error.error == .unauthorized {
            response.headers[.wwwAuthenticate] = "Basic realm=\"rookery\", charset=\"UTF-8\""
        }
        return response
    }
}
