import FoundationEssentials
import RookeryCore
import RookeryCurl

/// What the server said to one request.
public enum ServerAnswer<T: Sendable>: Sendable {
    case ok(T)
    case refused(status: Int, ProtocolError)
}

/// Sends signed requests to the server and decodes its answers.
public struct ServerConnection: Sendable {
    public let baseURL: String
    public let timeoutSeconds: Int
    /// The CA file the release pins for an https server; nil: the system's CA store.
    public let caFile: String?

    public init(baseURL: String, timeoutSeconds: Int, caFile: String? = nil) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.timeoutSeconds = timeoutSeconds
        self.caFile = caFile
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
    /// not plain JSON: signed updates and release tarballs.
    public func exchange(_ request: SignedRequest, maxResponseBytes: Int = 16 * 1024 * 1024) throws -> ServerAnswer<HTTPReply> {
        let reply: HTTPReply
        do {
            reply = try HTTPTransport.post(
                url: baseURL + WireProtocol.pathPrefix + request.endpoint.rawValue, body: request.body,
                headers: [WireProtocol.signatureHeader: request.signatureHeaderValue], timeoutSeconds: timeoutSeconds,
                maxResponseBytes: maxResponseBytes, caFile: caFile)
        } catch var failure as TransportError where failure.cause != nil {
            failure.hint = failure.cause == .certificateNotVerified ? certificateHint : caFileHint
            throw failure
        }
        if reply.status == 200 { return .ok(reply) }
        if let refusal = try? JSONDecoder().decode(ProtocolError.self, from: reply.body) {
            return .refused(status: reply.status, refusal)
        }
        // Not our server speaking (a proxy error page, a crash): treat as not delivered.
        throw TransportError(description: "unexpected answer \(reply.status) from \(baseURL)")
    }

    /// What to do when the server's certificate could not be verified: a device trusts the CA its
    /// release pins (the server's `client_ca_file`, which `configure_ports client` sets), or
    /// without one the system's CAs, which do not know a self-signed certificate.
    var certificateHint: String {
        let port = Self.port(of: baseURL).map(String.init) ?? "PORT"
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
