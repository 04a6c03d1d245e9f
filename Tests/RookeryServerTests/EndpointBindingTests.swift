import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import RookeryCore
import Testing

@testable import RookeryServer

/// A signed body names the endpoint it is for, and no other endpoint accepts it. Each body here
/// would be good at the endpoint it is sent to in every other respect (it carries the fields
/// both endpoints need), so only the binding can refuse it.
@Suite struct EndpointBindingTests {
    let sandbox: Sandbox
    let context: ServerContext
    let device: TestDevice

    init() async throws {
        sandbox = try Sandbox()
        context = try await makeServerContext(sandbox)
        device = try TestDevice(sandbox, name: "dev")
    }

    /// Good as a submission and as an update request alike.
    var bothFields: [String: JSONValue] {
        TestDevice.submitFields(id: "bound-1", plugins: ["x": .integer(1)]).merging(["release": .integer(0)]) { $1 }
    }

    @Test func aBodySignedForUpdateIsRefusedBySubmit() async throws {
        try await withServer(context, accepting: [device]) { client in
            let forUpdate = try device.sign(.update, bothFields)
            try expectRefusal(
                try await post(
                    client, endpoint: "submit", body: forUpdate.body,
                    signature: forUpdate.signatureHeaderValue), .wrongEndpoint)
            #expect(try await context.store.latestDocument(fingerprint: device.fingerprint) == nil)
        }
    }

    @Test func aBodySignedForSubmitIsRefusedByUpdate() async throws {
        try await withServer(context, accepting: [device]) { client in
            let forSubmit = try device.sign(.submit, bothFields)
            let answer = try await post(
                client, endpoint: "update", body: forSubmit.body,
                signature: forSubmit.signatureHeaderValue)
            try expectRefusal(answer, .wrongEndpoint)
            #expect(answer.headers[HTTPField.Name(WireProtocol.signatureHeader)!] == nil)
            // The same body at its own endpoint is fine: the nonce was not spent by the refusal.
            #expect(try await post(client, forSubmit).status == .ok)
        }
    }

    /// An `endpoint` that is not a string is not an absent one: refused, not taken for an old client.
    @Test(arguments: [JSONValue.integer(1), .null, .object([:])])
    func anEndpointThatIsNotAStringIsRefused(named: JSONValue) async throws {
        try await withServer(context, accepting: [device]) { client in
            let request = try device.sign(.update, bothFields.merging(["endpoint": named]) { $1 })
            try expectRefusal(try await post(client, request), .wrongEndpoint)
        }
    }

    /// An enrollment signed for `submit` (by a key nobody knows yet) is refused before its key is
    /// checked.
    @Test func anEnrollmentBodyIsBoundToo() async throws {
        try await withServer(context, accepting: [device]) { client in
            let stranger = try TestDevice(sandbox, name: "new")
            let forSubmit = try stranger.sign(.submit, try stranger.enrollFields())
            try expectRefusal(
                try await post(
                    client, endpoint: "enroll", body: forSubmit.body,
                    signature: forSubmit.signatureHeaderValue), .wrongEndpoint)
            #expect(try await context.store.device(fingerprint: stranger.fingerprint) == nil)
        }
    }

    /// A body without `endpoint` is what clients before protocol revision 2 send: accepted by
    /// `update` and `release` (so an old client can fetch its replacement), refused by `submit`.
    @Test func anUnboundBodyIsAnsweredByUpdateAndReleaseOnly() async throws {
        try await withServer(context, accepting: [device]) { client in
            let unboundUpdate = try device.sign(.update, bothFields, bindsEndpoint: false)
            #expect(try await post(client, unboundUpdate).status == .ok)
            // No release is published: not_found is the release endpoint's own answer.
            let unboundRelease = try device.sign(.release, ["release": .integer(1)], bindsEndpoint: false)
            try expectRefusal(try await post(client, unboundRelease), .notFound)
            let unboundSubmit = try device.sign(.submit, bothFields, bindsEndpoint: false)
            let refused = try await post(client, unboundSubmit)
            try expectRefusal(refused, .upgradeRequired)
            #expect(try await context.store.latestDocument(fingerprint: device.fingerprint) == nil)
        }
    }
}
