import Foundation
import Glibc
import RookeryCurl
import RookeryTestSupport
import Testing

// Every mail here crosses a real socket to SMTPListener, so what is checked is what libcurl
// actually put on the wire (with the listener undoing only SMTP's dot-stuffing).

@Suite struct SMTPMailerTests {
    static let sender = "rookery@audit.example.org"
    static let fixedDate = Date(timeIntervalSince1970: 1_700_000_000)

    static func configuration(port: Int, username: String? = nil, password: String? = nil) -> SMTPConfiguration {
        SMTPConfiguration(
            host: "127.0.0.1", port: port, username: username, password: password,
            from: sender, timeoutSeconds: 5)
    }

    // MARK: Delivery

    @Test func deliversEnvelopeHeadersAndBody() throws {
        let listener = try SMTPListener()
        defer { listener.stop() }
        let recipients = ["owner@example.com", "admin@example.net", "third.person+tag@example.com"]
        let subject = "Prüfung: Festplatte unverschlüsselt ✓"
        let body = "Hallo Grüße\n.\n.leading dot\r\n..two dots\rtrailing space \nlast line"
        try SMTPMailer.send(
            MailMessage(to: recipients, subject: subject, body: body),
            with: Self.configuration(port: listener.port), now: Self.fixedDate)

        let messages = listener.waitForMessages(count: 1)
        try #require(messages.count == 1)
        let mail = messages[0]
        #expect(mail.from == Self.sender)
        #expect(mail.recipients == recipients)
        #expect(mail.authUser == nil)

        let (headers, rawBody) = try Self.split(mail.data)
        #expect(headers["From"] == Self.sender)
        #expect(headers["To"] == recipients.joined(separator: ", "))
        #expect(headers["Subject"]?.hasPrefix("=?UTF-8?B?") == true)
        #expect(try Self.decodedWords(headers["Subject"] ?? "") == subject)
        #expect(headers["Date"] == "Tue, 14 Nov 2023 22:13:20 +0000")
        #expect(headers["Message-ID"]?.wholeMatch(of: #/<[0-9a-f-]{36}@audit\.example\.org>/#) != nil)
        #expect(headers["MIME-Version"] == "1.0")
        #expect(headers["Content-Type"] == "text/plain; charset=utf-8")
        #expect(headers["Content-Transfer-Encoding"] == "quoted-printable")

        // A lone "." and lines starting with dots survive: libcurl stuffed them exactly once.
        let wireLines = rawBody.components(separatedBy: "\r\n")
        #expect(wireLines.contains("."))
        #expect(wireLines.contains(".leading dot"))
        #expect(wireLines.contains("..two dots"))
        #expect(wireLines.contains("trailing space=20"))
        #expect(
            try Self.decodedQuotedPrintable(rawBody)
                == "Hallo Grüße\r\n.\r\n.leading dot\r\n..two dots\r\ntrailing space \r\nlast line\r\n")
        Self.expectWireDiscipline(mail.data)
    }

    @Test func longSubjectAndLongLinesAreFolded() throws {
        let listener = try SMTPListener()
        defer { listener.stop() }
        let subject = String(repeating: "Audit report for the whole fleet, ", count: 4) + "é=?x?="
        let longLine = String(repeating: "key=value ", count: 30) + "ü "
        try SMTPMailer.send(
            MailMessage(to: ["owner@example.com"], subject: subject, body: longLine),
            with: Self.configuration(port: listener.port))

        let mail = try #require(listener.waitForMessages(count: 1).first)
        let (headers, rawBody) = try Self.split(mail.data)
        #expect(try Self.decodedWords(headers["Subject"] ?? "") == subject)
        #expect(try Self.decodedQuotedPrintable(rawBody) == longLine + "\r\n")
        #expect(rawBody.components(separatedBy: "\r\n").count > 4)
        Self.expectWireDiscipline(mail.data)
    }

    @Test func credentialsArriveWhenConfigured() throws {
        let listener = try SMTPListener()
        defer { listener.stop() }
        let configuration = Self.configuration(port: listener.port, username: "mailer", password: "pa ss:wörd")
        try SMTPMailer.send(MailMessage(to: ["owner@example.com"], subject: "Hi", body: "x"), with: configuration)

        let mail = try #require(listener.waitForMessages(count: 1).first)
        #expect(mail.authUser == "mailer")
        #expect(mail.authPassword == "pa ss:wörd")
    }

    @Test func sequentialMailsUseFreshConnections() throws {
        let listener = try SMTPListener()
        defer { listener.stop() }
        for number in 1...3 {
            try SMTPMailer.send(
                MailMessage(to: ["owner@example.com"], subject: "Mail \(number)", body: "\(number)"),
                with: Self.configuration(port: listener.port))
        }
        let messages = listener.waitForMessages(count: 3)
        #expect(messages.count == 3)
        #expect(listener.connectionCount == 3)
        #expect(try messages.map { try Self.split($0.data).headers["Subject"] } == ["Mail 1", "Mail 2", "Mail 3"])
    }

    // MARK: Failures

    @Test func deadPortNamesHostAndPortButNotThePassword() throws {
        let listener = try SMTPListener()
        let port = listener.port
        listener.stop()
        let configuration = Self.configuration(port: port, username: "mailer", password: "hunter2")

        let error = try #require(throws: MailError.self) {
            try SMTPMailer.send(MailMessage(to: ["owner@example.com"], subject: "Hi", body: "x"), with: configuration)
        }
        #expect(error.description.hasPrefix("smtp 127.0.0.1:\(port): Couldn't connect to server"))
        #expect(!error.description.contains("hunter2"))
    }

    @Test func refusedRecipientFailsTheWholeMail() throws {
        let listener = try SMTPListener(rejecting: ["gone@example.com"])
        defer { listener.stop() }
        let configuration = Self.configuration(port: listener.port, username: "mailer", password: "hunter2")
        let message = MailMessage(to: ["owner@example.com", "gone@example.com"], subject: "Hi", body: "x")

        let error = try #require(throws: MailError.self) { try SMTPMailer.send(message, with: configuration) }
        #expect(error.description.hasPrefix("smtp 127.0.0.1:\(listener.port): "))
        #expect(error.description.contains("550"))
        #expect(!error.description.contains("hunter2"))
        #expect(listener.connectionCount == 1)
        #expect(listener.waitForMessages(count: 1, timeout: 0.3).isEmpty)
    }

    /// Each is refused before libcurl is even asked to connect.
    @Test(
        arguments: [
            (["owner@example.com"], "Hi\r\nBcc: spy@evil.example", sender),
            (["owner@example.com"], "Hi\nX-Injected: yes", sender),
            (["owner@example.com"], "nul\u{0}byte", sender),
            (["owner@example.com"], "next\u{2028}line", sender),
            (["owner@example.com\r\nBcc: spy@evil.example"], "Hi", sender),
            (["owner@example.com>,<spy@evil.example"], "Hi", sender),
            (["<owner@example.com>"], "Hi", sender),
            (["owner@example.com SIZE=1"], "Hi", sender),
            (["Owner Person owner@example.com"], "Hi", sender),
            (["owner"], "Hi", sender),
            (["owner@"], "Hi", sender),
            (["owner@example..com"], "Hi", sender),
            ([""], "Hi", sender),
            ([], "Hi", sender),
            (["owner@example.com"], "Hi", ""),
            (["owner@example.com"], "Hi", "rookery@example.org\r\nRCPT TO:<spy@evil.example>")
        ] as [([String], String, String)])
    func headerInjectionIsRefusedBeforeConnecting(to: [String], subject: String, from: String) throws {
        let listener = try SMTPListener()
        defer { listener.stop() }
        var configuration = Self.configuration(port: listener.port)
        configuration.from = from

        let error = try #require(throws: MailError.self) {
            try SMTPMailer.send(MailMessage(to: to, subject: subject, body: "x"), with: configuration)
        }
        #expect(!error.description.isEmpty)
        #expect(!error.description.contains("\r") && !error.description.contains("\n"))
        #expect(listener.connectionCount == 0)
    }

    @Test func controlCharactersInServerSettingsAreRefused() throws {
        let listener = try SMTPListener()
        defer { listener.stop() }
        let message = MailMessage(to: ["owner@example.com"], subject: "Hi", body: "x")
        var badHost = Self.configuration(port: listener.port)
        badHost.host = "127.0.0.1/evil"
        let badUser = Self.configuration(port: listener.port, username: "mailer\r\nQUIT", password: "hunter2")
        let badPassword = Self.configuration(port: listener.port, username: "mailer", password: "hunter2\r\n")

        #expect(throws: MailError.self) { try SMTPMailer.send(message, with: badHost) }
        #expect(throws: MailError.self) { try SMTPMailer.send(message, with: badUser) }
        let error = try #require(throws: MailError.self) { try SMTPMailer.send(message, with: badPassword) }
        #expect(!error.description.contains("hunter2"))
        #expect(listener.connectionCount == 0)
    }

    @Test func defaultPortsFollowSecurity() {
        #expect(SMTPConfiguration(host: "mx", from: Self.sender).port == 25)
        #expect(SMTPConfiguration(host: "mx", security: .starttls, from: Self.sender).port == 587)
        #expect(SMTPConfiguration(host: "mx", security: .tls, from: Self.sender).port == 465)
        #expect(SMTPConfiguration(host: "mx", port: 2525, security: .tls, from: Self.sender).port == 2525)
        #expect(SMTPConfiguration(host: "mx", from: Self.sender).timeoutSeconds == 30)
    }

    /// STARTTLS is required, not hoped for: against a server that offers none, nothing is sent.
    @Test func requiredStartTLSIsNotSkipped() throws {
        let listener = try SMTPListener()
        defer { listener.stop() }
        var configuration = Self.configuration(port: listener.port, username: "mailer", password: "hunter2")
        configuration.security = .starttls

        #expect(throws: MailError.self) {
            try SMTPMailer.send(MailMessage(to: ["owner@example.com"], subject: "Hi", body: "x"), with: configuration)
        }
        #expect(listener.messages.isEmpty)
    }

    // MARK: The listener itself

    @Test func stopDoesNotWaitForAnIdleClient() throws {
        let listener = try SMTPListener(idleTimeout: 60)
        let client = try Self.connect(port: listener.port)
        defer { close(client) }
        #expect(listener.waitForConnection())

        let started = Date()
        listener.stop()
        #expect(Date().timeIntervalSince(started) < 2)
    }

    @Test func idleClientIsDroppedAfterTheGreeting() throws {
        let listener = try SMTPListener(idleTimeout: 0.3)
        defer { listener.stop() }
        let client = try Self.connect(port: listener.port)
        defer { close(client) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))

        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 512)
        while case let count = recv(client, &chunk, chunk.count, 0), count > 0 { received += chunk[..<count] }
        // The loop ended on end of input (the server hung up), not on the 5 s receive timeout.
        #expect(errno != EAGAIN && errno != EWOULDBLOCK)
        #expect(String(decoding: received, as: UTF8.self).hasPrefix("220 "))
    }

    // MARK: Helpers

    /// Header fields, unfolded, and the raw body.
    static func split(_ data: String) throws -> (headers: [String: String], body: String) {
        let parts = data.components(separatedBy: "\r\n\r\n")
        try #require(parts.count >= 2)
        var headers: [String: String] = [:]
        for field in parts[0].replacingOccurrences(of: "\r\n ", with: " ").components(separatedBy: "\r\n") {
            let pair = field.split(separator: ":", maxSplits: 1)
            try #require(pair.count == 2, "not a header field: \(field)")
            headers[String(pair[0])] = pair[1].trimmingCharacters(in: .whitespaces)
        }
        return (headers, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    /// RFC 2047 B-encoded words separated by folding whitespace, which does not count.
    static func decodedWords(_ value: String) throws -> String {
        var bytes = Data()
        for word in value.split(separator: " ") {
            let match = try #require(word.wholeMatch(of: #/=\?UTF-8\?B\?([A-Za-z0-9+\/=]*)\?=/#))
            bytes += try #require(Data(base64Encoded: String(match.1)))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func decodedQuotedPrintable(_ text: String) throws -> String {
        var bytes: [UInt8] = []
        let input = Array(text.replacingOccurrences(of: "=\r\n", with: "").utf8)
        var index = 0
        while index < input.count {
            if input[index] == UInt8(ascii: "=") {
                let hex = String(decoding: input[(index + 1)..<min(index + 3, input.count)], as: UTF8.self)
                bytes.append(try #require(UInt8(hex, radix: 16), "bad escape =\(hex)"))
                index += 3
            } else {
                bytes.append(input[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// 7-bit, CRLF only, no line over 78 characters (RFC 5322's "SHOULD", which the mailer keeps).
    static func expectWireDiscipline(_ data: String) {
        #expect(data.utf8.allSatisfy { $0 < 0x80 })
        #expect(data.hasSuffix("\r\n"))
        let lines = data.components(separatedBy: "\r\n")
        #expect(!lines.contains { $0.contains("\r") || $0.contains("\n") })
        #expect(lines.allSatisfy { $0.utf8.count <= 78 }, "\(lines.filter { $0.utf8.count > 78 })")
    }

    static func connect(port: Int) throws -> Int32 {
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
        try #require(connected)
        return client
    }
}

extension SMTPListener {
    fileprivate func waitForConnection() -> Bool {
        let deadline = Date().addingTimeInterval(5)
        while connectionCount == 0, Date() < deadline { usleep(10_000) }
        return connectionCount > 0
    }
}
