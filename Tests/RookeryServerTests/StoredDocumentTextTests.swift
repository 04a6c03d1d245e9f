import Foundation
import HummingbirdTesting
import RookeryCore
import Testing

@testable import RookeryServer

/// A submission's plugins are stored as the device sent them when that text is what the
/// server's writer writes for them, and written again otherwise (issue 15). Either way the
/// stored document is the writer's text: compact, keys in order, control characters escaped
/// before any admin's terminal sees them.
@Suite struct StoredDocumentTextTests {
    let sandbox: Sandbox
    let context: ServerContext
    let device: TestDevice

    init() async throws {
        sandbox = try Sandbox()
        context = try await makeServerContext(sandbox)
        device = try TestDevice(sandbox, name: "text")
    }

    /// A submit request whose plugins member is `pluginsText`, byte for byte, signed by the device.
    func submission(pluginsText: String) throws -> SignedRequest {
        let placeholder = JSONValue.object(["placeholder": .string("plugins")]).serializedString
        let made = try device.sign(.submit, TestDevice.submitFields(plugins: ["placeholder": .string("plugins")]))
        let body = Data(String(decoding: made.body, as: UTF8.self).replacingOccurrences(of: placeholder, with: pluginsText).utf8)
        return SignedRequest(
            endpoint: .submit, body: body,
            signature: try device.openPGP.sign(body, fingerprint: device.fingerprint), nonce: made.nonce)
    }

    @Test(arguments: [
        // As a device's writer writes it: stored as it came.
        #"{"a":{"b":[1,-2,"x"]},"c":"caf\u00e9 \u001b"}"#.replacingOccurrences(of: #"\u00e9"#, with: "\u{E9}"),
        // Other text for a value: written again.
        #"{ "c" : "\u00e9" , "a" : { "b" : [ 1 , -2 , "x" ] } }"#,
        "{\"a\":\"raw C1 \u{85} and DEL \u{7F}\",\"b\":\"\\/\"}",
        #"{"a":1.50,"b":1e2}"#
    ])
    func theStoredDocumentIsTheWritersText(pluginsText: String) async throws {
        try await withServer(context, accepting: [device]) { client in
            // Twice: the second is worked out against the first as stored.
            for _ in 0..<2 {
                let response = try await post(client, try submission(pluginsText: pluginsText))
                #expect(response.status == .ok)
            }
        }
        let stored = try #require(try await context.store.latestDocumentText(fingerprint: device.fingerprint))
        let value = try JSONValue.parse(stored, limits: .storedData)
        #expect(value.serializedString == stored)
        #expect(value["plugins"] == (try JSONValue.parse(pluginsText)))
        #expect(!stored.unicodeScalars.contains { $0.value == 0x7F || (0x80...0x9F).contains($0.value) })
    }

    /// The fast path is taken: a device's own text is kept as it came, other text is not.
    @Test func onlyTheWritersOwnTextIsKeptAsItCame() throws {
        for (text, kept) in [(#"{"a":{"b":[1,-2,"x"]},"c":"\u001b"}"#, true), (#"{"a": 1}"#, false), (#"{"a":"\/"}"#, false)] {
            let signed = try submission(pluginsText: text)
            let (fields, ranges) = try RequestVerifier.parseWhole(signed.body, limits: JSONLimits())
            let request = VerifiedRequest(
                endpoint: .submit, fields: MessageFields(fields), fingerprint: device.fingerprint, host: device.host,
                nonce: signed.nonce, device: nil, verifiedPublicKey: nil, body: signed.body, memberRanges: ranges)
            #expect(request.canonicalText(of: "plugins") == (kept ? Array(text.utf8) : nil), "\(text)")
        }
    }
}
