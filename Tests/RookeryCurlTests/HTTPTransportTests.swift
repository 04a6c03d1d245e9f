import Foundation
import RookeryCurl
import RookeryTestSupport
import Testing

// HTTPTransport against a real HTTP server on loopback: what the webhook receiver sees is what
// libcurl sent.

@Suite struct HTTPTransportTests {
    static let payload = Data(#"{"device":"laptop-17","issue":"ssh_password_auth","grüße":true}"#.utf8)

    @Test func postDeliversJSONBodyAndHeaders() throws {
        let answer = Data(#"{"ok":true}"#.utf8)
        let receiver = try HTTPReceiver(status: 200, responseBody: answer)
        defer { receiver.stop() }

        let reply = try HTTPTransport.post(
            url: receiver.url + "hooks/audit?source=rookery", body: Self.payload,
            headers: ["X-Rookery-Event": "issue"], timeoutSeconds: 5)
        #expect(reply.status == 200)
        #expect(reply.body == answer)
        #expect(reply.headers["connection"] == "close")

        let request = try #require(receiver.waitForRequests(count: 1).first)
        #expect(request.method == "POST")
        #expect(request.path == "/hooks/audit?source=rookery")
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.headers["content-length"] == String(Self.payload.count))
        #expect(request.headers["x-rookery-event"] == "issue")
        #expect(request.headers["expect"] == nil)
        #expect(request.body == Self.payload)
    }

    @Test(arguments: [200, 201, 204, 400, 404, 500, 503])
    func statusCodesPassThrough(status: Int) throws {
        let receiver = try HTTPReceiver(status: status)
        defer { receiver.stop() }
        let reply = try HTTPTransport.post(url: receiver.url, body: Self.payload, headers: [:], timeoutSeconds: 5)
        #expect(reply.status == status)
        #expect(receiver.waitForRequests(count: 1).count == 1)
    }

    @Test func largeBodyArrivesWhole() throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        let body = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let reply = try HTTPTransport.post(url: receiver.url, body: body, headers: [:], timeoutSeconds: 10)
        #expect(reply.status == 204)
        #expect(receiver.waitForRequests(count: 1).first?.body == body)
    }

    @Test func sequentialPostsAreAllRecorded() throws {
        let receiver = try HTTPReceiver()
        defer { receiver.stop() }
        for number in 1...3 {
            _ = try HTTPTransport.post(
                url: receiver.url + "n\(number)", body: Data("\(number)".utf8),
                headers: [:], timeoutSeconds: 5)
        }
        let requests = receiver.waitForRequests(count: 3)
        #expect(requests.map(\.path) == ["/n1", "/n2", "/n3"])
        #expect(requests.map { String(decoding: $0.body, as: UTF8.self) } == ["1", "2", "3"])
        #expect(receiver.connectionCount == 3)
    }

    @Test func deadPortIsATransportErrorNamingTheURL() throws {
        let receiver = try HTTPReceiver()
        let url = receiver.url
        receiver.stop()
        let error = try #require(throws: TransportError.self) {
            try HTTPTransport.post(url: url, body: Self.payload, headers: [:], timeoutSeconds: 5)
        }
        #expect(error.description.hasPrefix(url))
        #expect(error.description.contains("connect"))
    }
}
