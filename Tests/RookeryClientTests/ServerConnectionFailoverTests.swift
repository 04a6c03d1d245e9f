import Foundation
import RookeryCore
import RookeryCurl
import RookeryTestSupport
import Testing

@testable import RookeryClient

/// A connection with several server URLs, against real HTTP listeners standing for the servers:
/// the next is tried only while one cannot be reached or answers 5xx; a refusal is an answer.
@Suite struct ServerConnectionFailoverTests {
    static let request = SignedRequest(endpoint: .submit, body: Data("{}".utf8), signature: Data([1, 2, 3]), nonce: "n")

    static func refusal(_ status: Int, _ code: String) -> ReceiverReply {
        ReceiverReply(status: status, body: Data(#"{"error": "\#(code)", "message": "said by \#(status)"}"#.utf8))
    }

    static func connection(_ urls: [String], answered: Locked<[String]>) -> ServerConnection {
        ServerConnection(baseURLs: urls, timeoutSeconds: 5) { url in answered.withLock { $0.append(url) } }
    }

    @Test func aServerAnswering5xxPassesTheRequestToTheNext() throws {
        let busy = try HTTPReceiver { _ in Self.refusal(503, "busy") }
        let working = try HTTPReceiver(status: 200, responseBody: Data("{}".utf8))
        defer {
            busy.stop()
            working.stop()
        }
        let answered = Locked<[String]>([])
        let answer = try Self.connection([busy.url, working.url], answered: answered).exchange(Self.request)
        guard case .ok = answer else {
            Issue.record("expected the second server's answer, got \(answer)")
            return
        }
        #expect(busy.requests.count == 1)
        #expect(working.requests.count == 1)
        #expect(answered.current == [String(working.url.dropLast())])
    }

    @Test func aRefusalIsAnAnswerAndTheNextServerIsNotAsked() throws {
        let refusing = try HTTPReceiver { _ in Self.refusal(403, "revoked") }
        let other = try HTTPReceiver(status: 200, responseBody: Data("{}".utf8))
        defer {
            refusing.stop()
            other.stop()
        }
        let answered = Locked<[String]>([])
        let answer = try Self.connection([refusing.url, other.url], answered: answered).exchange(Self.request)
        guard case .refused(403, let refusal) = answer else {
            Issue.record("expected the refusal, got \(answer)")
            return
        }
        #expect(refusal.error == .revoked)
        #expect(other.requests.isEmpty)
        #expect(answered.current == [String(refusing.url.dropLast())])
    }

    @Test func theLastServersRefusalIsReturnedEvenWhenItIs5xx() throws {
        let first = try HTTPReceiver { _ in Self.refusal(503, "busy") }
        let last = try HTTPReceiver { _ in Self.refusal(503, "busy") }
        defer {
            first.stop()
            last.stop()
        }
        let answer = try Self.connection([first.url, last.url], answered: Locked([])).exchange(Self.request)
        guard case .refused(503, _) = answer else {
            Issue.record("expected the last server's 503, got \(answer)")
            return
        }
    }
}
