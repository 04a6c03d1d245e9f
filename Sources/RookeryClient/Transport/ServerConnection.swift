import FoundationEssentials
import RookeryCore
import RookeryCurl

/// What the server said to one request.
public enum ServerAnswer<T: Sendable>: Sendable {
    case ok(T)
    case refused(status: Int, ProtocolError)
}

/// Sends signed requests to the server and decodes its answers. With several server URLs
/// (`server_urls`: server processes sharing one database), each request goes to the first and,
/// while one cannot be reached or answers 5xx, to the next; the one that answered is reported to
/// `answered`, so the device stays with it (`ClientContext.connection` puts it first).
/// A refusal (4xx) is an answer: the same request would be refused by every server.
public struct ServerConnection: Sendable {
    /// Where requests go, in the order they are tried.
    public let baseURLs: [String]
    public let timeoutSeconds: Int
    /// The CA file the release pins for an https server; nil: the system's CA store.
    public let caFile: String?
    /// Told which URL answered a request.
    let answered: @Sendable (String) -> Void

    /// The URL tried first.
    public var baseURL: String { baseURLs[0] }

    public init(baseURL: String, timeoutSeconds: Int, caFile: String? = nil) {
        self.init(baseURLs: [baseURL], timeoutSeconds: timeoutSeconds, caFile: caFile)
    }

    /// `baseURLs`: at least one.
    public init(
        baseURLs: [String], timeoutSeconds: Int, caFile: String? = nil, answered: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        precondition(!baseURLs.isEmpty, "a connection needs a server URL")
        self.baseURLs = baseURLs.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.timeoutSeconds = timeoutSeconds
        self.caFile = caFile
        self.answered = answered
    }

    public func send<T: Decodable & Sendable>(_ request: SignedRequest, expecting: T.Type) throws -> ServerAnswer<T> {
        switch try exchange(request) {
        case .ok(let reply):
            guard let value = try? JSONDecoder().decode(T.self, from: reply.body) else {
                throw TransportError(description: "unreadable answer from \(baseURL)")
            }
            return .ok(value)
        case .refused(let status, let refusal):
            return .refused(status: status, refusal)
        }
    }

    /// Sends a request and returns a 200 answer whole (body and headers), for answers that are
    /// not plain JSON: signed updates and release tarballs. Tries each URL in turn (see above);
    /// with one URL its own failure is thrown, with several every one's.
    public func exchange(_ request: SignedRequest, maxResponseBytes: Int = 16 * 1024 * 1024) throws -> ServerAnswer<HTTPReply> {
        var failures: [TransportError] = []
        for url in baseURLs {
            do {
                let answer = try exchange(request, at: url, maxResponseBytes: maxResponseBytes)
                if case .refused(let status, let refusal) = answer, status >= 500, url != baseURLs.last {
                    failures.append(TransportError(description: "\(url) answered \(status): \(refusal.message)"))
                    continue
                }
                answered(url)
                return answer
            } catch let failure as TransportError {
                failures.append(failure)
            }
        }
        guard failures.count > 1 else { throw failures[0] }
        var combined = TransportError(
            description: "no server answered: " + failures.map(\.description).joined(separator: "; "),
            cause: failures.compactMap(\.cause).first)
        combined.hint = failures.compactMap(\.hint).first
        throw combined
    }

    private func exchange(_ request: SignedRequest, at url: String, maxResponseBytes: Int) throws -> ServerAnswer<HTTPReply> {
        let reply: HTTPReply
        do {
            reply = try HTTPTransport.post(
                url: url + WireProtocol.pathPrefix + request.endpoint.rawValue, body: request.body,
                headers: [WireProtocol.signatureHeader: request.signatureHeaderValue], timeoutSeconds: timeoutSeconds,
                maxResponseBytes: maxResponseBytes, caFile: caFile)
        } catch var failure as TransportError where failure.cause != nil {
            failure.hint = failure.cause == .certificateNotVerified ? certificateHint(for: url) : caFileHint
            throw failure
        }
        if reply.status == 200 { return .ok(reply) }
        if let refusal = try? JSONDecoder().decode(ProtocolError.self, from: reply.body) {
            return .refused(status: reply.status, refusal)
        }
        // Not our server speaking (a proxy error page, a crash): treat as not delivered.
        throw TransportError(description: "unexpected answer \(reply.status) from \(url)")
    }

    /// What to do when the server's certificate could not be verified: a device trusts the CA its
    /// release pins (the server's `client_ca_file`, which `configure_ports client` sets), or
    /// without one the system's CAs, which do not know a self-signed certificate.
    var certificateHint: String { certificateHint(for: baseURL) }

    func certificateHint(for url: String) -> String {
        let port = Self.port(of: url).map(String.init) ?? "PORT"
        let trusted =
            caFile.map { "this device trusts only the CA its release pins (\($0))" }
            ?? "this device's release pins no CA, so only the system's CAs vouch for the server, and they do not know a self-signed certificate"
        return trusted + "; on the server, pin the certificate the port serves with `bin/configure_ports client --ca-from-port \(port)` "
            + "(or `--ca-file PEM`) and publish a release with `bin/client_release`; a device that cannot reach the server for it "
            + "takes that release with `bin/client_download --ca-file PEM` and client-setup.sh (docs/certificates.md). "
            + "The host name in server_url must be one the certificate names"
    }

    /// What to do when the pinned CA file cannot be loaded: it came with the installed release,
    /// and the device does not fall back to the system's CAs without it.
    var caFileHint: String {
        "the CA file this device's release pins (\(caFile ?? "client/server-ca.pem")) cannot be used: it came with the release and "
            + "was lost or changed since; install the release again, from `bin/client_download --ca-file PEM` with client-setup.sh "
            + "(docs/certificates.md)"
    }

    /// The port of an http(s) URL: the one it gives, else its scheme's.
    static func port(of url: String) -> Int? {
        let scheme = url.prefix { $0 != ":" }
        guard url.dropFirst(scheme.count).hasPrefix("://") else { return nil }
        let authority = url.dropFirst(scheme.count + 3).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostAndPort = authority.split(separator: "@").last ?? authority
        // An IPv6 address is in brackets, and holds colons of its own.
        let afterHost = hostAndPort.hasPrefix("[") ? hostAndPort.drop { $0 != "]" }.dropFirst() : hostAndPort.drop { $0 != ":" }
        if afterHost.hasPrefix(":") { return Int(afterHost.dropFirst()) }
        return url.hasPrefix("https://") ? 443 : url.hasPrefix("http://") ? 80 : nil
    }
}
