import FoundationEssentials

/// A request body and its detached signature, ready to POST.
public struct SignedRequest: Sendable {
    public let endpoint: WireProtocol.Endpoint
    public let body: Data
    public let signature: Data
    /// Signed answers (updates) must echo it, so an old answer cannot be replayed.
    public let nonce: String

    public init(endpoint: WireProtocol.Endpoint, body: Data, signature: Data, nonce: String) {
        self.endpoint = endpoint
        self.body = body
        self.signature = signature
        self.nonce = nonce
    }

    /// Serializes `message` with the envelope (host, key, sent_at, nonce and the endpoint it is
    /// meant for) and signs it with the device's key.
    public static func make(
        _ message: some RequestMessage, host: String, fingerprint: String,
        signer: some RequestSigner, now: Date = Date()
    ) throws -> SignedRequest {
        try make(
            endpoint: type(of: message).endpoint, fields: message.fields, host: host,
            fingerprint: fingerprint, signer: signer, now: now)
    }

    /// The same from loose members: for tests and tools that must send what no message type
    /// would (a body the server has to refuse). An `endpoint` member in `fields` is kept as it
    /// is; `bindsEndpoint: false` leaves the member out, as clients before protocol revision 2 did.
    public static func make(
        endpoint: WireProtocol.Endpoint, fields: [String: JSONValue],
        host: String, fingerprint: String, signer: some RequestSigner,
        now: Date = Date(), bindsEndpoint: Bool = true
    ) throws -> SignedRequest {
        let nonce = WireProtocol.makeNonce()
        var all = fields
        all[WireProtocol.Field.host] = .string(host)
        all[WireProtocol.Field.key] = .string(fingerprint)
        all[WireProtocol.Field.sentAt] = .string(RFC3339.string(from: now))
        all[WireProtocol.Field.nonce] = .string(nonce)
        if !bindsEndpoint {
            all[WireProtocol.Field.endpoint] = nil
        } else if all[WireProtocol.Field.endpoint] == nil {
            all[WireProtocol.Field.endpoint] = .string(endpoint.rawValue)
        }
        let body = JSONValue.object(all).serialized()
        let signature = try signer.sign(body, fingerprint: fingerprint)
        return SignedRequest(endpoint: endpoint, body: body, signature: signature, nonce: nonce)
    }

    public var signatureHeaderValue: String { signature.base64EncodedString() }
}
