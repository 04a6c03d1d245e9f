import CCurl
import FoundationEssentials
import RookeryCore

/// The server could not be reached, or the exchange broke off. Nothing was delivered.
public struct TransportError: KindedError {
    /// What went wrong, where a caller has something to say about it.
    public enum Cause: Sendable, Equatable {
        /// The server's TLS certificate (or its host name) could not be verified against the CAs
        /// trusted: most often a self-signed certificate, or another CA than the one pinned.
        case certificateNotVerified
        /// The CA file to trust could not be loaded: missing, unreadable, or no PEM certificate.
        case caFileUnusable
    }

    public let description: String
    public let cause: Cause?
    /// What to do, from the caller that knows which setting or option trusts a CA.
    public var hint: String?
    public var kind: ErrorKind { .unreachable }

    public init(description: String, cause: Cause? = nil, hint: String? = nil) {
        self.description = description
        self.cause = cause
        self.hint = hint
    }
}

/// One HTTP answer.
public struct HTTPReply: Sendable {
    public let status: Int
    public let body: Data
    /// Response headers of the final answer, names in lower case.
    public let headers: [String: String]

    public init(status: Int, body: Data, headers: [String: String]) {
        self.status = status
        self.body = body
        self.headers = headers
    }
}

/// HTTP POST over libcurl (loaded on first use). One easy handle per call, so calls from several threads are safe.
public enum HTTPTransport {
    /// Answers over `maxResponseBytes` (16 MiB unless a caller expects more, like a release) are
    /// cut off and fail. With `caFile`, an https server's certificate must chain to a CA in that
    /// file and nothing else (the system's store is not consulted); without it, to the system's.
    /// Verification of the certificate and the host name is never turned off.
    public static func post(
        url: String, body: Data, headers: [String: String], timeoutSeconds: Int,
        maxResponseBytes: Int = 16 * 1024 * 1024, caFile: String? = nil
    ) throws -> HTTPReply {
        if let problem = rookery_curl_load() { throw TransportError(description: String(cString: problem)) }
        guard let handle = rookery_curl_easy_init() else { throw TransportError(description: "libcurl: cannot make a handle") }
        defer { rookery_curl_easy_cleanup(handle) }

        var headerList: UnsafeMutablePointer<curl_slist>?
        for (name, value) in headers { headerList = rookery_curl_slist_append(headerList, "\(name): \(value)") }
        headerList = rookery_curl_slist_append(headerList, "Content-Type: application/json")
        // An empty Expect stops libcurl from waiting for "100 Continue" on large bodies.
        headerList = rookery_curl_slist_append(headerList, "Expect:")
        defer { rookery_curl_slist_free_all(headerList) }

        let sink = ResponseSink(limit: maxResponseBytes)
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        var setup = [
            rookery_curl_set_string(handle, CURLOPT_URL, url),
            rookery_curl_set_pointer(handle, CURLOPT_HTTPHEADER, headerList),
            rookery_curl_set_long(handle, CURLOPT_TIMEOUT, timeoutSeconds),
            rookery_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT, min(timeoutSeconds, 10)),
            rookery_curl_set_long(handle, CURLOPT_NOSIGNAL, 1),
            rookery_curl_set_long(handle, CURLOPT_FOLLOWLOCATION, 0),
            rookery_curl_set_long(handle, CURLOPT_SSL_VERIFYPEER, 1),
            rookery_curl_set_long(handle, CURLOPT_SSL_VERIFYHOST, 2),
            rookery_curl_set_write_function(
                handle,
                { data, size, count, userdata in
                    guard let data, let userdata else { return 0 }
                    let sink = Unmanaged<ResponseSink>.fromOpaque(userdata).takeUnretainedValue()
                    return sink.append(UnsafeRawBufferPointer(start: data, count: size * count))
                }, sinkPointer),
            rookery_curl_set_header_function(
                handle,
                { data, size, count, userdata in
                    guard let data, let userdata else { return 0 }
                    let sink = Unmanaged<ResponseSink>.fromOpaque(userdata).takeUnretainedValue()
                    return sink.header(UnsafeRawBufferPointer(start: data, count: size * count))
                }, sinkPointer)
        ]
        if let caFile {
            // A pin means this CA only: the built-in CA directory would let any public CA vouch too.
            setup += [
                rookery_curl_set_string(handle, CURLOPT_CAINFO, caFile),
                rookery_curl_set_string(handle, CURLOPT_CAPATH, nil)
            ]
        }
        setup.append(
            body.isEmpty
                ? rookery_curl_set_post_body(handle, "", 0)
                : body.withUnsafeBytes { raw in
                    rookery_curl_set_post_body(handle, raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
                })
        if let failed = setup.first(where: { $0 != CURLE_OK }) {
            throw TransportError(description: "libcurl setup: \(String(cString: rookery_curl_easy_strerror(failed)))")
        }
        // libcurl's own words for what failed ("SSL certificate problem: self-signed certificate").
        var detail = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let result = detail.withUnsafeMutableBufferPointer { buffer in
            _ = rookery_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, buffer.baseAddress)
            defer { _ = rookery_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, nil) }
            return rookery_curl_easy_perform(handle)
        }
        guard result == CURLE_OK else {
            let message =
                detail[0] != 0
                ? detail.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
                : String(cString: rookery_curl_easy_strerror(result))
            let cause: TransportError.Cause? =
                switch result {
                case CURLE_PEER_FAILED_VERIFICATION: .certificateNotVerified
                case CURLE_SSL_CACERT_BADFILE: .caFileUnusable
                default: nil
                }
            throw TransportError(description: "\(url): \(message)", cause: cause)
        }
        return HTTPReply(status: rookery_curl_response_code(handle), body: sink.data, headers: sink.headers)
    }
}

/// Collects the answer's headers and body, refusing to hold more than `limit` bytes of body.
private final class ResponseSink {
    let limit: Int
    var data = Data()
    var headers: [String: String] = [:]

    init(limit: Int) { self.limit = limit }

    func append(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard data.count + bytes.count <= limit else { return 0 }
        data.append(contentsOf: bytes)
        return bytes.count
    }

    /// One header line; a status line (a new answer, after a redirect or 100 Continue) starts over.
    func header(_ bytes: UnsafeRawBufferPointer) -> Int {
        let line = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
        if line.hasPrefix("HTTP/") {
            headers = [:]
        } else if let colon = line.firstIndex(of: ":"), headers.count < 100 {
            let name = line[..<colon].lowercased()
            headers[name] = line[line.index(after: colon)...].trimmingWhitespace()
        }
        return bytes.count
    }
}
