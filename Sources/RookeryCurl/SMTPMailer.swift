import CCurl
import FoundationEssentials
import Glibc
import RookeryCore

/// Where and how mail is handed over: one SMTP server (usually the local relay or the organisation's).
public struct SMTPConfiguration: Sendable {
    public enum Security: String, Sendable {
        /// Plain SMTP. Credentials, if any, cross the wire in clear: meant for a relay on loopback.
        case none
        /// smtp:// with STARTTLS required: the send fails rather than fall back to clear text.
        case starttls
        /// Implicit TLS from the first byte (smtps://).
        case tls

        var defaultPort: Int {
            switch self {
            case .none: return 25
            case .starttls: return 587
            case .tls: return 465
            }
        }
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    public var password: String?
    /// The envelope sender and the From header: a bare `local@domain` address.
    public var from: String
    public var timeoutSeconds: Int
    /// PEM bundle of the CAs to trust instead of the system's (a private relay's own CA).
    public var caFile: String?

    /// `port` defaults to the usual one for `security`: 25, 587 or 465.
    public init(
        host: String, port: Int? = nil, security: Security = .none, username: String? = nil,
        password: String? = nil, from: String, timeoutSeconds: Int = 30, caFile: String? = nil
    ) {
        self.host = host
        self.port = port ?? security.defaultPort
        self.security = security
        self.username = username
        self.password = password
        self.from = from
        self.timeoutSeconds = timeoutSeconds
        self.caFile = caFile
    }
}

/// One plain-text mail to one or more people.
public struct MailMessage: Sendable {
    public var to: [String]
    public var subject: String
    public var body: String

    public init(to: [String], subject: String, body: String) {
        self.to = to
        self.subject = subject
        self.body = body
    }
}

/// The mail was refused before sending, or the server could not be reached or did not take it.
public struct MailError: KindedError {
    public let description: String
    /// Not `unreachable`, which is the Rookery server's: mail not delivered fails the command.
    public var kind: ErrorKind { .failed }
}

/// Sends mail over SMTP through libcurl (loaded on first use). One easy handle per call, so calls
/// from several threads are safe.
public enum SMTPMailer {
    /// Whether `send` would take `address` as a recipient: a bare ASCII `local@domain`.
    public static func accepts(address: String) -> Bool {
        (try? MailComposer.checkAddress(address, role: "recipient")) != nil
    }

    /// Checks the message and the configuration, then hands the message over. Returns once the
    /// server has accepted it for every recipient; a single refused recipient fails the whole send.
    public static func send(_ message: MailMessage, with configuration: SMTPConfiguration, now: Date = Date()) throws {
        try MailComposer.check(message, configuration)
        let text = MailComposer.compose(message, from: configuration.from, date: now)
        try deliver(Array(text.utf8), to: message.to, with: configuration)
    }

    private static func deliver(_ bytes: [UInt8], to recipients: [String], with configuration: SMTPConfiguration) throws {
        let place = "smtp \(configuration.host):\(configuration.port)"
        if let problem = rookery_curl_load() { throw MailError(description: "\(place): \(String(cString: problem))") }
        guard let handle = rookery_curl_easy_init() else { throw MailError(description: "\(place): libcurl cannot make a handle") }
        defer { rookery_curl_easy_cleanup(handle) }

        var recipientList: UnsafeMutablePointer<curl_slist>?
        for recipient in recipients { recipientList = rookery_curl_slist_append(recipientList, "<\(recipient)>") }
        defer { rookery_curl_slist_free_all(recipientList) }
        // libcurl's own detail ("RCPT failed: 550") says more than the bare error code.
        let detail = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        detail.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        defer { detail.deallocate() }

        let source = UploadSource(bytes)
        let result: CURLcode = withExtendedLifetime(source) {
            var setup = options(handle, configuration)
            setup += [
                rookery_curl_set_pointer(handle, CURLOPT_MAIL_RCPT, recipientList),
                rookery_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, detail),
                // With UPLOAD and a read function libcurl escapes lines starting with "." and
                // adds the final CRLF.CRLF itself, so the message is handed over unstuffed.
                rookery_curl_set_long(handle, CURLOPT_UPLOAD, 1),
                rookery_curl_set_read_function(
                    handle,
                    { buffer, size, count, userdata in
                        guard let buffer, let userdata else { return 0 }
                        let source = Unmanaged<UploadSource>.fromOpaque(userdata).takeUnretainedValue()
                        return source.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
                    }, Unmanaged.passUnretained(source).toOpaque())
            ]
            if let failed = setup.first(where: { $0 != CURLE_OK }) { return failed }
            return rookery_curl_easy_perform(handle)
        }
        guard result == CURLE_OK else {
            throw MailError(description: describe(result, detail: String(cString: detail), place: place))
        }
    }

    /// Everything but the recipients and the upload. TLS verification is left at libcurl's
    /// default (on) and set again explicitly, so no environment or build default can turn it off.
    private static func options(_ handle: UnsafeMutableRawPointer, _ configuration: SMTPConfiguration) -> [CURLcode] {
        let scheme = configuration.security == .tls ? "smtps" : "smtp"
        // An IPv6 literal needs brackets in the URL, unless it came with them.
        let bare = configuration.host.contains(":") && !configuration.host.hasPrefix("[")
        let host = bare ? "[\(configuration.host)]" : configuration.host
        var setup = [
            rookery_curl_set_string(handle, CURLOPT_URL, "\(scheme)://\(host):\(configuration.port)"),
            rookery_curl_set_string(handle, CURLOPT_MAIL_FROM, "<\(configuration.from)>"),
            rookery_curl_set_long(handle, CURLOPT_NOSIGNAL, 1),
            rookery_curl_set_long(handle, CURLOPT_TIMEOUT, configuration.timeoutSeconds),
            rookery_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT, min(configuration.timeoutSeconds, 10)),
            rookery_curl_set_long(handle, CURLOPT_SSL_VERIFYPEER, 1),
            rookery_curl_set_long(handle, CURLOPT_SSL_VERIFYHOST, 2)
        ]
        if configuration.security != .none {
            setup.append(rookery_curl_set_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue)))
        }
        if let caFile = configuration.caFile {
            // Instead of the system's CAs, not besides them: no built-in CA directory either.
            setup += [rookery_curl_set_string(handle, CURLOPT_CAINFO, caFile), rookery_curl_set_string(handle, CURLOPT_CAPATH, nil)]
        }
        if let username = configuration.username { setup.append(rookery_curl_set_string(handle, CURLOPT_USERNAME, username)) }
        if let password = configuration.password { setup.append(rookery_curl_set_string(handle, CURLOPT_PASSWORD, password)) }
        return setup
    }

    /// libcurl's messages never carry the password (it is set as an option, not in the URL).
    private static func describe(_ code: CURLcode, detail: String, place: String) -> String {
        let summary = String(cString: rookery_curl_easy_strerror(code))
        let detail = detail.trimmingWhitespace()
        return detail.isEmpty || detail == summary ? "\(place): \(summary)" : "\(place): \(summary) (\(detail))"
    }
}

/// Feeds the message to libcurl's read callback.
private final class UploadSource {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        let count = min(buffer.count, bytes.count - offset)
        guard count > 0 else { return 0 }
        bytes[offset..<offset + count].withUnsafeBytes { buffer.copyMemory(from: $0) }
        offset += count
        return count
    }
}

/// Checks a mail for anything that could forge headers or envelope commands, and writes its
/// RFC 5322 text.
///
/// The body goes out quoted-printable rather than 8bit: 8bit needs a server announcing 8BITMIME
/// and lines under 998 bytes, while audit mail may quote long lines (package lists, key dumps)
/// and relays vary. Quoted-printable is 7-bit clean everywhere and stays readable for ASCII text.
enum MailComposer {
    private static let letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    private static let localCharacters = Set(letters + "!#$%&'*+-/=?^_`{|}~.")
    private static let labelCharacters = Set(letters + "-")
    /// Base64 of 39 bytes is 52 characters, 64 with "=?UTF-8?B?" and "?=": even the first word,
    /// after "Subject: ", keeps its line within RFC 2047's 76.
    private static let encodedWordBytes = 39

    static func check(_ message: MailMessage, _ configuration: SMTPConfiguration) throws {
        guard !configuration.from.isEmpty else { throw MailError(description: "the sender address is empty") }
        try checkAddress(configuration.from, role: "sender")
        guard !message.to.isEmpty else { throw MailError(description: "the mail has no recipients") }
        for recipient in message.to { try checkAddress(recipient, role: "recipient") }
        guard !hasControlCharacter(message.subject) else {
            throw MailError(description: "the subject \(message.subject.debugDescription) contains a line break or control character")
        }
        try checkServer(configuration)
    }

    static func compose(_ message: MailMessage, from: String, date: Date) -> String {
        let domain = from.split(separator: "@").last.map(String.init) ?? "localhost"
        let headers = [
            "From: \(from)",
            "To: \(message.to.joined(separator: ",\r\n "))",
            "Subject: \(encodedSubject(message.subject))",
            "Date: \(rfc5322Date(date))",
            "Message-ID: <\(UUID().uuidString.lowercased())@\(domain)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable"
        ]
        return headers.joined(separator: "\r\n") + "\r\n\r\n" + quotedPrintable(message.body)
    }

    /// A bare ASCII address; anything quoted, bracketed or non-ASCII is refused rather than
    /// risk it being read as more than one address or as an SMTP parameter.
    static func checkAddress(_ address: String, role: String) throws {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        let labels = parts.count == 2 ? parts[1].split(separator: ".", omittingEmptySubsequences: false) : []
        guard parts.count == 2, address.utf8.count <= 254, !parts[0].isEmpty,
            parts[0].allSatisfy(localCharacters.contains), !labels.isEmpty,
            labels.allSatisfy({ !$0.isEmpty && $0.allSatisfy(labelCharacters.contains) })
        else {
            throw MailError(description: "\(role) address \(address.debugDescription) is not of the form local@domain")
        }
    }

    /// The host goes into a URL and the credentials into C strings: neither may smuggle in more.
    private static func checkServer(_ configuration: SMTPConfiguration) throws {
        let host = configuration.host
        guard !host.isEmpty, !hasControlCharacter(host), !host.contains(where: { " /?#@".contains($0) }) else {
            throw MailError(description: "SMTP host \(host.debugDescription) is not a host name or address")
        }
        guard (1...65535).contains(configuration.port), configuration.timeoutSeconds > 0 else {
            throw MailError(description: "smtp \(host):\(configuration.port): port or timeout out of range")
        }
        if let username = configuration.username, hasControlCharacter(username) {
            throw MailError(description: "SMTP user name \(username.debugDescription) contains a control character")
        }
        if let password = configuration.password, hasControlCharacter(password) {
            throw MailError(description: "the SMTP password contains a control character")
        }
    }

    private static func hasControlCharacter(_ text: String) -> Bool {
        text.unicodeScalars.contains { scalar in
            [.control, .lineSeparator, .paragraphSeparator].contains(scalar.properties.generalCategory)
        }
    }

    /// Short ASCII stays as it is; anything else becomes RFC 2047 encoded words, one per folded
    /// line. "=?" is encoded too, or a reader would take it for the start of an encoded word.
    private static func encodedSubject(_ subject: String) -> String {
        if subject.utf8.count <= 70, subject.unicodeScalars.allSatisfy(\.isASCII), !subject.contains("=?") {
            return subject
        }
        var words: [String] = []
        var chunk = ""
        for scalar in subject.unicodeScalars {
            if chunk.utf8.count + String(scalar).utf8.count > encodedWordBytes {
                words.append(chunk)
                chunk = ""
            }
            chunk.unicodeScalars.append(scalar)
        }
        words.append(chunk)
        return words.map { "=?UTF-8?B?\(Data($0.utf8).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }

    /// "Sun, 06 Dec 2026 12:30:00 +0000": RFC 5322's English names, in UTC, whatever the locale.
    private static func rfc5322Date(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var utc = tm()
        gmtime_r(&seconds, &utc)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func twoDigits(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(utc.tm_wday)]), \(twoDigits(utc.tm_mday)) \(months[Int(utc.tm_mon)]) \(utc.tm_year + 1900) "
            + "\(twoDigits(utc.tm_hour)):\(twoDigits(utc.tm_min)):\(twoDigits(utc.tm_sec)) +0000"
    }

    /// Every kind of line end becomes CRLF; the text always ends with one.
    private static func quotedPrintable(_ body: String) -> String {
        let unified = body.replacing("\r\n", with: "\n").replacing("\r", with: "\n")
        var lines = unified.split(separator: "\n", omittingEmptySubsequences: false)
        if lines.count > 1, lines.last?.isEmpty == true { lines.removeLast() }
        return lines.map { encodedLine(Array($0.utf8)) }.joined(separator: "\r\n") + "\r\n"
    }

    /// RFC 2045 section 6.7: printable ASCII but "=" as is, whitespace as is unless it ends the
    /// line, the rest as =XX, with soft breaks keeping lines within 76 characters.
    private static func encodedLine(_ bytes: [UInt8]) -> String {
        var output = ""
        var length = 0
        for (index, byte) in bytes.enumerated() {
            let isWhitespace = byte == 0x20 || byte == 0x09
            let literal = (0x21...0x7E).contains(byte) && byte != 0x3D || isWhitespace && index < bytes.count - 1
            let token = literal ? String(UnicodeScalar(byte)) : "=" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            if length + token.count > 75 {
                output += "=\r\n"
                length = 0
            }
            output += token
            length += token.count
        }
        return output
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
