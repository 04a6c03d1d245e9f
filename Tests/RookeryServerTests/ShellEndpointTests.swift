import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RookeryCore
import Testing

@testable import RookeryServer

/// The remote shell's endpoints through the real router, store file and device keys: a session
/// from open to close, and every refusal of the contract (docs/protocol.md, "Remote shell").
@Suite struct ShellEndpointTests {
    typealias S = ShellTestServer
    let sandbox: Sandbox
    let context: ServerContext
    let alice: TestDevice
    let bob: TestDevice

    init() async throws {
        sandbox = try Sandbox()
        context = try await S.context(sandbox)
        alice = try TestDevice(sandbox, name: "alice")
        bob = try TestDevice(sandbox, name: "bob")
    }

    @Test func anOpenedShellIsOfferedInTheSignedUpdateAnswer() async throws {
        try await withServer(context, accepting: [alice, bob], over: .router) { client in
            let id = try await S.open(client, host: "alice")
            let response = try await post(client, try alice.sign(.update, ["release": .integer(0)]))
            let body = Data(buffer: response.body)
            let signature = try #require(
                response.headers[HTTPField.Name(WireProtocol.signatureHeader)!].flatMap { Data(base64Encoded: $0) })
            #expect(try context.signingHome.verify(signature: signature, data: body).fingerprint == (try context.signingKey()).fingerprint)
            let offers = try #require(try JSONDecoder().decode(UpdateAnswer.self, from: body).shells)
            #expect(offers.map(\.sessionID) == [id])
            #expect(offers.first?.adminKey == S.adminKey && offers.first?.openedBy == "user alice" && offers.first?.rows == 24)

            let bobs = try JSONDecoder().decode(
                UpdateAnswer.self, from: Data(buffer: try await post(client, try bob.sign(.update, ["release": .integer(0)])).body))
            #expect(bobs.shells == nil, "no shell for bob: left out")
        }
    }

    @Test func framesFlowBothWaysWithSequenceNumbersAndReadPastFramesAreDeleted() async throws {
        try await withServer(context, accepting: [alice], over: .router) { client in
            let id = try await S.open(client, host: "alice")
            let requested = try JSONDecoder().decode(ShellStateAnswer.self, from: Data(buffer: try await S.admin(client, "\(id)/state").body))
            #expect(requested.state == "requested" && requested.openedBy == "user alice" && requested.deviceKey == nil)
            let token = try await S.accept(client, id, by: alice)
            #expect(token.count == 64)
            let open = try JSONDecoder().decode(ShellStateAnswer.self, from: Data(buffer: try await S.admin(client, "\(id)/state").body))
            #expect(open.state == "open" && open.deviceKey == Data(repeating: 4, count: 32) && open.fingerprint == alice.fingerprint)

            let sent = try await S.admin(client, "\(id)/send", body: S.frame(1) + S.frame(2, count: 17))
            #expect(sent.status == .ok)
            #expect(try JSONDecoder().decode(ShellSendAnswer.self, from: Data(buffer: sent.body)).seq == 2)
            let deviceReads = try await S.device(client, id, "receive", token: token, query: "?after=0")
            #expect(Data(buffer: deviceReads.body) == S.frame(1) + S.frame(2, count: 17))
            #expect(S.lastSeq(deviceReads) == 2)

            let output = try await S.device(client, id, "send", token: token, body: S.frame(3, count: 100))
            #expect(try JSONDecoder().decode(ShellSendAnswer.self, from: Data(buffer: output.body)).seq == 1)
            let adminReads = try await S.admin(client, "\(id)/receive?after=0")
            #expect(Data(buffer: adminReads.body) == S.frame(3, count: 100) && S.lastSeq(adminReads) == 1)

            _ = try await S.admin(client, "\(id)/send", body: S.frame(4))
            let next = try await S.device(client, id, "receive", token: token, query: "?after=2")
            #expect(Data(buffer: next.body) == S.frame(4) && S.lastSeq(next) == 3)
            let waiting = try #require(try await context.store.peekShellFrames(id: id, direction: .adminToDevice, after: 0, limit: 10))
            #expect(waiting.1.map(\.seq) == [3], "frames 1 and 2 were read past, so deleted")

            let listed = try JSONDecoder().decode(ShellListAnswer.self, from: Data(buffer: try await S.admin(client, "list", as: "bob").body))
            #expect(listed.sessions.map(\.sessionID) == [id])
            #expect(listed.sessions.first?.bytesToDevice == Int64(2 * 44 + 21) && listed.sessions.first?.bytesToAdmin == 104)
        }
    }

    @Test func aBodyThatIsNotWholeFramesIsRefused() async throws {
        try await withServer(context, accepting: [alice], over: .router) { client in
            let id = try await S.open(client, host: "alice")
            _ = try await S.accept(client, id, by: alice)
            for body in [Data(), S.frame(1).dropLast(), S.frame(1, count: 3), Data([0xff, 0xff, 0xff, 0xff])] {
                let response = try await S.admin(client, "\(id)/send", body: Data(body))
                try expectRefusal(response, .malformed)
            }
            let tooLarge = (0...ShellRelay.maxSendBytes / 1000).reduce(Data()) { body, _ in body + S.frame(1, count: 996) }
            try expectRefusal(try await S.admin(client, "\(id)/send", body: tooLarge), .bodyTooLarge)
            #expect(try await context.store.shellSession(id: id)?.bytesToDevice == 0)
        }
    }

    @Test func aWrongOrMissingTokenIsRefusedLikeAnUnknownSession() async throws {
        try await withServer(context, accepting: [alice, bob], over: .router) { client in
            let id = try await S.open(client, host: "alice")
            let token = try await S.accept(client, id, by: alice)
            let other = try await S.open(client, host: "bob")
            let bobsToken = try await S.accept(client, other, by: bob)
            let wrong = String(token.reversed())
            let unknown = String(repeating: "0", count: 32)
            for (session, candidate) in [(id, wrong), (id, nil), (id, bobsToken), (id, "x"), (unknown, token), (other, token)] {
                for action in ["send", "receive", "close"] {
                    let response = try await S.device(
                        client, session, action, token: candidate, body: action == "send" ? S.frame(1) : Data("{\"reason\":\"x\"}".utf8))
                    #expect(response.status == .unauthorized, "\(action) with \(candidate ?? "no token")")
                    #expect(try S.refusal(response).code == "unauthorized")
                }
            }
            #expect(try await context.store.shellSession(id: id)?.state == .open, "nothing closed it")
            #expect(try await context.store.shellSession(id: id)?.bytesToAdmin == 0)
        }
    }

    @Test func onlyTheDeviceTheShellWasOpenedToMayAnswerIt() async throws {
        try await withServer(context, accepting: [alice, bob], over: .router) { client in
            let id = try await S.open(client, host: "alice")
            let accepted = try await post(
                client,
                try bob.sign(
                    .shellAccept,
                    ["session_id": .string(id), "device_key": .string(Data(repeating: 4, count: 32).base64EncodedString())]))
            try expectRefusal(accepted, .notFound)
            let refused = try await post(client, try bob.sign(.shellRefuse, ["session_id": .string(id), "reason": .string("no")]))
            try expectRefusal(refused, .notFound)
            #expect(try await context.store.shellSession(id: id)?.state == .requested)
            _ = try await S.accept(client, id, by: alice)
            let again = try await post(
                client,
                try alice.sign(
                    .shellAccept,
                    ["session_id": .string(id), "device_key": .string(Data(repeating: 5, count: 32).base64EncodedString())]))
            #expect(again.status == .conflict)
            #expect(try S.refusal(again).code == "conflict")
        }
    }

    @Test func anotherAdminCannotSeeSendToOrReadAShell() async throws {
        try await withServer(context, accepting: [alice], over: .router) { client in
            let id = try await S.open(client, host: "alice", as: "alice")
            let token = try await S.accept(client, id, by: alice)
            _ = try await S.device(client, id, "send", token: token, body: S.frame(1))
            for path in ["\(id)/state", "\(id)/send", "\(id)/receive?after=0"] {
                try expectRefusal(try await S.admin(client, path, as: "bob", body: S.frame(2)), .notFound)
            }
            #expect(try await context.store.shellSession(id: id)?.bytesToDevice == 0)
            let unauthenticated = try await client.execute(uri: "/rookery/v1/shell/\(id)/state", method: .post)
            #expect(unauthenticated.status == .unauthorized)
            // Any admin may close it (and it is logged with who).
            let closed = try await S.admin(client, "\(id)/close", as: "bob", body: S.json(["reason": .string("stop")]))
            #expect(try JSONDecoder().decode(ShellCloseAnswer.self, from: Data(buffer: closed.body)).closed)
            #expect(try await context.store.shellSession(id: id)?.closeReason == "stop")
        }
    }

    @Test func aFullDirectionAnswers429AndTheSameBytesGoThroughOnceRead() async throws {
        try await withServer(context, accepting: [alice], over: .router) { client in
            let id = try await S.open(client, host: "alice")
            let token = try await S.accept(client, id, by: alice)
            let batch = (0..<ShellFrameBounds.maxWaiting).reduce(Data()) { body, _ in body + S.frame(1) }
            #expect(try await S.admin(client, "\(id)/send", body: batch).status == .ok)
            let full = try await S.admin(client, "\(id)/send", body: S.frame(2))
            #expect(full.status == .tooManyRequests && full.headers[.retryAfter] == "1")
            #expect(try S.refusal(full).code == "busy")
            _ = try await S.device(client, id, "receive", token: token, query: "?after=255")
            #expect(try await S.admin(client, "\(id)/send", body: S.frame(2)).status == .ok)
        }
    }

    @Test func afterACloseTheOtherSideReadsWhatWaitsThenGets410WithTheReason() async throws {
        try await withServer(context, accepting: [alice], over: .router) { client in
            let id = try await S.open(client, host: "alice")
            let token = try await S.accept(client, id, by: alice)
            _ = try await S.device(client, id, "send", token: token, body: S.frame(7))
            let closed = try await S.device(client, id, "close", token: token, body: S.json(["reason": .string("exit 3")]))
            #expect(closed.status == .ok)
            let last = try await S.admin(client, "\(id)/receive?after=0")
            #expect(Data(buffer: last.body) == S.frame(7), "closing kept the frame")
            let gone = try await S.admin(client, "\(id)/receive?after=1")
            #expect(gone.status == .gone)
            #expect(try S.refusal(gone).code == "gone" && S.refusal(gone).message == "exit 3")
            let sendGone = try await S.admin(client, "\(id)/send", body: S.frame(1))
            #expect(sendGone.status == .gone)
            #expect(try S.refusal(sendGone).message == "exit 3")
            let state = try JSONDecoder().decode(ShellStateAnswer.self, from: Data(buffer: try await S.admin(client, "\(id)/state").body))
            #expect(state.state == "closed" && state.closeReason == "exit 3")
            let again = try await S.admin(client, "\(id)/close", body: S.json([:]))
            #expect(try JSONDecoder().decode(ShellCloseAnswer.self, from: Data(buffer: again.body)).closed == false)
        }
    }

    @Test func aRefusalShowsAsStateRefusedWithTheReason() async throws {
        try await withServer(context, accepting: [alice], over: .router) { client in
            let id = try await S.open(client, host: "alice")
            let refused = try await post(
                client, try alice.sign(.shellRefuse, ["session_id": .string(id), "reason": .string("the owner says no")]))
            #expect(try JSONDecoder().decode(ShellRefuseAnswer.self, from: Data(buffer: refused.body)) == .init(sessionID: id, state: "refused"))
            let state = try JSONDecoder().decode(ShellStateAnswer.self, from: Data(buffer: try await S.admin(client, "\(id)/state").body))
            #expect(state.state == "refused" && state.closeReason == "the owner says no")
            let receive = try await S.admin(client, "\(id)/receive?after=0")
            #expect(receive.status == .gone)
            #expect(try S.refusal(receive).message == "the owner says no")
        }
    }

    @Test func openRefusesUnknownAmbiguousAndFullDevicesAndBadFields() async throws {
        let twin = try TestDevice(sandbox, name: "twin", host: "alice")
        try await withServer(context, accepting: [alice, bob, twin], over: .router) { client in
            func open(_ fields: [String: JSONValue]) async throws -> TestResponse {
                try await S.admin(client, "open", body: S.json(fields))
            }
            let key = JSONValue.string(S.adminKey.base64EncodedString())
            try expectRefusal(try await open(["host": .string("nobody"), "admin_key": key]), .notFound)
            let ambiguous = try await open(["host": .string("alice"), "admin_key": key])
            #expect(ambiguous.status == .conflict)
            #expect(try S.refusal(ambiguous).message.contains(twin.fingerprint))
            try expectRefusal(try await open(["host": .string(bob.fingerprint), "admin_key": .string("AAAA")]), .malformed)
            try expectRefusal(try await open(["host": .string("bob"), "admin_key": key, "rows": .integer(0)]), .malformed)
            try expectRefusal(try await open(["host": .string("bob")]), .malformed)
            try expectRefusal(try await S.admin(client, "open", body: Data("not json".utf8)), .malformed)
            try expectRefusal(
                try await S.admin(client, "open", body: Data(repeating: 0x20, count: ShellController.maxJSONBodyBytes + 1)),
                .bodyTooLarge)
            _ = try await S.open(client, host: "bob")
            _ = try await S.open(client, host: bob.fingerprint)
            let third = try await open(["host": .string("bob"), "admin_key": key])
            #expect(third.status == .conflict, "two live sessions per device")
            try await context.store.setState(.revoked, fingerprint: twin.fingerprint, at: Date())
            #expect(try await open(["host": .string(twin.fingerprint), "admin_key": key]).status == .conflict)
            let byName = try await open(["host": .string("alice"), "admin_key": key])
            #expect(
                try JSONDecoder().decode(ShellOpenAnswer.self, from: Data(buffer: byName.body)).fingerprint == alice.fingerprint,
                "the one accepted device of that name; the revoked key does not make it ambiguous")
        }
    }

    @Test func openAcceptAndCloseAreLoggedWithWhoAndBytesNeverContent() async throws {
        let lines = Locked<[String]>([])
        let app = try buildApplication(context: context, logger: CapturingLogHandler.logger(into: lines))
        try await app.test(.router) { client in
            try await enrollAndAccept([alice], in: context, through: client)
            let id = try await S.open(client, host: "alice")
            let token = try await S.accept(client, id, by: alice)
            let content = Data(repeating: 0, count: 4) + Data("SECRET-KEYSTROKES-0123456789".utf8)
            var frame = S.frame(0, count: content.count - 4)
            frame.replaceSubrange(4..., with: content.dropFirst(4))
            _ = try await S.device(client, id, "send", token: token, body: frame)
            _ = try await S.admin(client, "\(id)/receive?after=0")
            _ = try await S.admin(client, "\(id)/close", as: "bob", body: S.json(["reason": .string("done")]))
        }
        let logged = lines.withLock { $0 }
        let opened = try #require(logged.first { $0.hasPrefix("shell opened") })
        #expect(opened.contains("by=user alice") && opened.contains("device=\(alice.fingerprint)"))
        let id = try #require(opened.split(separator: " ").first { $0.hasPrefix("session=") }?.dropFirst("session=".count))
        let accepted = try #require(logged.first { $0.hasPrefix("shell accepted") })
        #expect(accepted.contains("session=\(id)") && accepted.contains("by=device \(alice.fingerprint)"))
        let closed = try #require(logged.first { $0.hasPrefix("shell closed") })
        #expect(closed.contains("by=user bob") && closed.contains("opened_by=user alice") && closed.contains("reason=done"))
        #expect(closed.contains("bytes_to_admin=32") && closed.contains("bytes_to_device=0"))
        #expect(!logged.contains { $0.contains("SECRET") }, "frame content never reaches the log")
        #expect(!logged.contains { $0.contains("pipe_create admitted") }, "admissions of frame calls at debug only")
    }
}
