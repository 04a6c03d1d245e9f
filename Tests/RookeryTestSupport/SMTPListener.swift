import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One mail as an SMTP server received it.
public struct ReceivedMail: Sendable, Equatable {
    /// The MAIL FROM address, without the angle brackets.
    public let from: String
    /// The accepted RCPT TO addresses, in order.
    public let recipients: [String]
    /// The message as the client meant it: dot-stuffing undone, CRLF line ends, no final ".".
    public let data: String
    /// What AUTH PLAIN or AUTH LOGIN carried in this session, if the client authenticated.
    public let authUser: String?
    public let authPassword: String?
}

/// A real, minimal SMTP server on 127.0.0.1 for tests: enough of RFC 5321 for libcurl.
///
/// It advertises AUTH PLAIN LOGIN and accepts any credentials, recording them, so tests can see
/// that they arrived. Recipients in `rejecting` are refused with 550. Every connection has its own
/// thread; an idle one is dropped after `idleTimeout`, and `stop()` (or deinit) ends them all.
public final class SMTPListener: Sendable {
    public var port: Int { server.port }
    private let server: LoopbackServer
    private let inbox = Recorder<ReceivedMail>()

    public init(rejecting rejectedRecipients: Set<String> = [], idleTimeout: TimeInterval = 10) throws {
        let inbox = self.inbox
        server = try LoopbackServer(idleTimeout: idleTimeout) { connection in
            var session = SMTPSession(connection: connection, rejected: rejectedRecipients, inbox: inbox)
            session.run()
        }
    }

    deinit { server.stop() }

    public var messages: [ReceivedMail] { inbox.items }

    /// How many clients have connected so far, whether or not they sent anything.
    public var connectionCount: Int { server.connectionCount }

    /// The messages once there are at least `count`, or whatever arrived when `timeout` ran out.
    public func waitForMessages(count: Int, timeout: TimeInterval = 5) -> [ReceivedMail] {
        inbox.wait(for: count, timeout: timeout)
    }

    /// Closes the socket and waits for every connection's thread to finish.
    public func stop() { server.stop() }
}

/// One client's conversation.
private struct SMTPSession {
    let connection: LineConnection
    let rejected: Set<String>
    let inbox: Recorder<ReceivedMail>
    private var sender: String?
    private var recipients: [String] = []
    private var authUser: String?
    private var authPassword: String?
    /// Beyond this a DATA is cut off: no test mail comes near it.
    private let maximumData = 32 * 1024 * 1024

    init(connection: LineConnection, rejected: Set<String>, inbox: Recorder<ReceivedMail>) {
        self.connection = connection
        self.rejected = rejected
        self.inbox = inbox
    }

    mutating func run() {
        guard connection.write("220 rookery-test ESMTP\r\n") else { return }
        while let line = connection.readLine() {
            let verb = line.prefix { $0 != " " }.uppercased()
            let argument = line.dropFirst(verb.count).trimmingCharacters(in: .whitespaces)
            guard handle(verb, argument) else { return }
        }
    }

    /// False when the session is over.
    private mutating func handle(_ verb: String, _ argument: String) -> Bool {
        switch verb {
        case "EHLO": return reply("250-rookery-test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME")
        case "HELO": return reply("250 rookery-test")
        case "AUTH": return authenticate(argument)
        case "MAIL":
            sender = Self.address(in: argument)
            recipients = []
            return reply(sender == nil ? "501 5.5.4 syntax: MAIL FROM:<address>" : "250 2.1.0 ok")
        case "RCPT": return addRecipient(argument)
        case "DATA": return receiveData()
        case "RSET":
            sender = nil
            recipients = []
            return reply("250 2.0.0 ok")
        case "NOOP": return reply("250 2.0.0 ok")
        case "QUIT":
            _ = reply("221 2.0.0 bye")
            return false
        default: return reply("502 5.5.2 command not implemented")
        }
    }

    private mutating func addRecipient(_ argument: String) -> Bool {
        guard sender != nil, let recipient = Self.address(in: argument) else {
            return reply("503 5.5.1 MAIL FROM first, then RCPT TO:<address>")
        }
        guard !rejected.contains(recipient) else { return reply("550 5.1.1 <\(recipient)>: no such user") }
        recipients.append(recipient)
        return reply("250 2.1.5 ok")
    }

    private mutating func receiveData() -> Bool {
        guard let sender, !recipients.isEmpty else { return reply("503 5.5.1 no valid recipients") }
        guard reply("354 end data with <CR><LF>.<CR><LF>"), let data = readData() else { return false }
        inbox.append(
            ReceivedMail(
                from: sender, recipients: recipients, data: data,
                authUser: authUser, authPassword: authPassword))
        self.sender = nil
        recipients = []
        return reply("250 2.0.0 queued")
    }

    /// Lines up to the lone "."; a leading dot on any other line is the client's stuffing.
    private func readData() -> String? {
        var data = ""
        while let line = connection.readLine() {
            if line == "." { return data }
            data += (line.hasPrefix(".") ? String(line.dropFirst()) : line) + "\r\n"
            guard data.utf8.count <= maximumData else { return nil }
        }
        return nil
    }

    private mutating func authenticate(_ argument: String) -> Bool {
        let words = argument.split(separator: " ").map(String.init)
        switch words.first?.uppercased() {
        case "PLAIN":
            guard let response = words.count > 1 ? words[1] : challenge("") else { return false }
            let fields = Self.decoded(response).split(separator: "\0", omittingEmptySubsequences: false)
            guard fields.count == 3 else { return reply("501 5.5.2 malformed AUTH PLAIN") }
            (authUser, authPassword) = (String(fields[1]), String(fields[2]))
        case "LOGIN":
            guard let user = words.count > 1 ? words[1] : challenge("VXNlcm5hbWU6"),
                let password = challenge("UGFzc3dvcmQ6")
            else { return false }
            (authUser, authPassword) = (Self.decoded(user), Self.decoded(password))
        default:
            return reply("504 5.5.4 mechanism not supported")
        }
        return reply("235 2.7.0 authenticated")
    }

    /// Sends a 334 challenge and returns the client's answer line.
    private func challenge(_ prompt: String) -> String? {
        guard reply("334 \(prompt)") else { return nil }
        return connection.readLine()
    }

    private func reply(_ text: String) -> Bool { connection.write(text + "\r\n") }

    private static func address(in argument: String) -> String? {
        guard let open = argument.firstIndex(of: "<"), let close = argument[open...].firstIndex(of: ">") else { return nil }
        return String(argument[argument.index(after: open)..<close])
    }

    private static func decoded(_ base64: String) -> String {
        String(decoding: Data(base64Encoded: base64) ?? Data(), as: UTF8.self)
    }
}
