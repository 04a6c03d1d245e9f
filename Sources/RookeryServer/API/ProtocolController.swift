import Foundation
import HTTPTypes
import Hummingbird
import RookeryCore

/// The client-facing routes under `/rookery/v1/`: one POST route per endpoint behind the
/// signed-request checks, and `GET download_release` behind `endpoint_auth`. Every refusal is
/// a `ProtocolError` thrown to Hummingbird, which answers it (see `ProtocolError+Response`).
public struct ProtocolController: Sendable {
    let checks: SignedRequestMiddleware.Checks
    let enrollment: EnrollmentService
    let submissions: SubmissionService
    let updates: UpdateService
    let files: FileIO
    /// Whether the latest release may be fetched with GET (for bootstrapping new devices)...
    let releaseDownload: Bool
    /// ...and by whom (endpoint_auth.download_release).
    let authenticator: EndpointAuthenticator
    let failures: FailureLimiter

    /// Small, because a slow reader must take about one chunk per `response_timeout` (see
    /// ResponseDeadline): 64 KiB keeps that within reach of a poor mobile link.
    static let fileChunkBytes = 64 << 10

    public var routes: RouteCollection<RookeryRequestContext> {
        let routes = RouteCollection(context: RookeryRequestContext.self)
        routes.add(middleware: RefusalLogMiddleware())
        signed(.enroll, in: routes) { request, context in
            try await enrollment.enroll(
                try context.verified(EnrollRequest.self),
                from: context.clientAddress(request, authenticator: authenticator))
        }
        signed(.submit, in: routes) { _, context in
            try await submissions.submit(try context.verified())
        }
        signed(.update, in: routes) { _, context in
            try await updates.update(try context.verified(UpdateRequest.self))
        }
        signed(.release, in: routes) { _, context in
            try await tarball(at: try await updates.releaseTarball(try context.verified(ReleaseRequest.self)), context: context)
        }
        signed(.acknowledgePatch, in: routes) { _, context in
            try await updates.acknowledge(try context.verified(AcknowledgePatchRequest.self))
        }
        routes.post(":endpoint") { _, context -> Response in
            throw ProtocolError(.notFound, "no endpoint \(LogText.escaped(context.parameters.get("endpoint") ?? "", limit: 64))")
        }
        if releaseDownload {
            routes.group().add(
                middleware: EndpointAuthMiddleware(
                    endpoint: "download_release", authenticator: authenticator,
                    failures: failures)
            )
            .get("download_release", use: downloadLatestRelease)
        } else {
            routes.get("download_release") { _, _ -> Response in
                throw ProtocolError(.forbidden, "release download is turned off (release_download in server/settings.yml)")
            }
        }
        return routes
    }

    /// `POST endpoint`, behind the signed-request checks for that endpoint.
    private func signed(
        _ endpoint: WireProtocol.Endpoint, in routes: RouteCollection<RookeryRequestContext>,
        _ handler: @Sendable @escaping (Request, RookeryRequestContext) async throws -> some ResponseGenerator
    ) {
        routes.group().add(middleware: SignedRequestMiddleware(endpoint: endpoint, checks: checks))
            .post(RouterPath(endpoint.rawValue), use: handler)
    }

    /// `GET /rookery/v1/download_release`: the latest release, for a new device's first install;
    /// off unless `release_download` is set. What a device installs is checked against the
    /// signed manifest inside, whoever served it.
    @Sendable func downloadLatestRelease(_ request: Request, context: RookeryRequestContext) async throws -> Response {
        let releases = updates.releases
        guard let latest = try await updates.pool.run({ try releases.latest() }) else {
            throw ProtocolError(
                .notFound,
                "no release is published whose tarball matches its record (none yet: bin/client_release; or its file is still being copied)")
        }
        context.logger.notice("release \(latest.number) downloaded", metadata: ["peer": "\(context.peer)"])
        return try await tarball(
            at: releases.tarballPath(latest.number), context: context,
            fileName: "rookery-client-\(latest.number).tar.gz")
    }

    /// A release tarball, streamed from disk in small chunks. FileIO opens the file only as the
    /// body is written, after the status went out: so it must be readable before.
    func tarball(at path: String, context: RookeryRequestContext, fileName: String? = nil) async throws -> Response {
        guard try await updates.pool.run({ FileManager.default.isReadableFile(atPath: path) }) else {
            throw ProtocolError(.notFound, "the release file is missing on the server")
        }
        let body: ResponseBody
        do {
            body = try await files.loadFile(path: path, context: context, chunkLength: Self.fileChunkBytes)
        } catch is HTTPError {
            throw ProtocolError(.notFound, "the release file is missing on the server")
        }
        var headers: HTTPFields = [.contentType: "application/gzip"]
        if let fileName { headers[.contentDisposition] = "attachment; filename=\"\(fileName)\"" }
        return Response(status: .ok, headers: headers, body: body)
    }
}
