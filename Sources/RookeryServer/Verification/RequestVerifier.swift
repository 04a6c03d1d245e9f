import Foundation
import RookeryCore

/// A request that passed every check of the protocol (see `RequestVerifier`): who sent it, and
/// its body, not yet read as the endpoint's message.
public struct VerifiedRequest: Sendable {
    public let endpoint: WireProtocol.Endpoint
    public let fields: MessageFields
    public let fingerprint: String
    public let host: String
    /// Echoed in signed answers, so a device can tell a fresh answer from a replayed one.
    public let nonce: String
    /// The device as stored; nil only for a first enrollment.
    public let device: Device?
    /// For a first enrollment: the verified key, exported alone.
    public let verifiedPublicKey: String?
    /// The body as signed, and where each of its members' values lies in it (empty for an
    /// enrollment, which keeps its envelope alone).
    var body = Data()
    var memberRanges: [String: Range<Int>] = [:]

    /// The body read as `M`, the message of this request's endpoint; a body the endpoint cannot
    /// use is refused as `malformed`.
    public func message<M: RequestMessage>(_ type: M.Type) throws -> Verified<M> {
        guard M.endpoint == endpoint else {
            throw ProtocolError(.internalError, "a \(endpoint.rawValue) request read as \(M.endpoint.rawValue)")
        }
        return Verified(message: try M(fields: fields), request: self)
    }

    /// A member's text as the device sent it, when it is exactly what this server writes for
    /// its value (see `JSONCanonicalText`), so it can be stored as it came; nil otherwise.
    public func canonicalText(of member: String) -> [UInt8]? {
        guard let range = memberRanges[member] else { return nil }
        return body.withUnsafeBytes { raw in
            let text = UnsafeBufferPointer(rebasing: raw.bindMemory(to: UInt8.self)[range])
            return JSONCanonicalText.isCanonical(text) ? Array(text) : nil
        }
    }
}

/// A verified request and its typed message: what an endpoint's service is handed.
public struct Verified<Message: RequestMessage>: Sendable {
    public let message: Message
    public let request: VerifiedRequest

    public init(message: Message, request: VerifiedRequest) {
        self.message = message
        self.request = request
    }

    public var fingerprint: String { request.fingerprint }
    public var host: String { request.host }
    public var nonce: String { request.nonce }
    public var device: Device? { request.device }
    public var verifiedPublicKey: String? { request.verifiedPublicKey }
}

/// Checks, in order: JSON (the envelope only), the endpoint the body was signed for, known key in a state that allows the endpoint,
/// the signature's shape, sent_at within the allowed skew, nonce not seen before, signature made
/// by exactly that key; then records the nonce (a `submit`'s is left to `SubmissionService`) and
/// builds the whole body. (The size limit is enforced while the body is read.) Each failure is a
/// `ProtocolError` with its status and code; docs/protocol.md has the table.
///
/// Until the signature is checked, anyone may be asking, so nothing before it costs more than a
/// small bound: the JSON scan builds only the envelope (memory: the body and a few strings),
/// the time check comes before gpg (a captured or forged request is not worth a gpg run once
/// stale), and gpg sees only one small signature packet.
public struct RequestVerifier: Sendable {
    let store: any Store
    let keyring: ServerKeyring
    let allowedSkew: TimeInterval
    /// Large bodies are scanned and parsed here (see `BlockingPool.inlineBodyBytes`).
    let pool: BlockingPool
    /// Enrollment checks are anyone's to ask for: only this many at once, shared by every port.
    let enrollmentChecks: ConcurrencyGate
    /// Group commit (issue 15): records the nonces, batched with other requests'.
    let writer: GroupCommitWriter
    /// Where the signature checks' times go (/metrics).
    let metrics: ServerMetrics
    let limits = JSONLimits()

    public func verify(
        endpoint: WireProtocol.Endpoint, body: Data, signatureHeader: String?,
        now: Date = Date()
    ) async throws -> VerifiedRequest {
        // Route handlers run on Swift's cooperative pool, off the event loops; a small body is
        // scanned right here, a large one on the blocking pool.
        let limits = self.limits
        let envelope = try await pool.run(overBodyOf: body.count) {
            try Envelope(scanning: body, for: endpoint, limits: limits)
        }
        let lookup = try await store.lookUpSigner(fingerprint: envelope.fingerprint, nonce: envelope.nonce)
        let device = lookup.device
        try Self.checkState(of: device, for: endpoint)
        let signature = try Self.decodeSignature(signatureHeader)
        guard abs(envelope.sentAt.timeIntervalSince(now)) <= allowedSkew else {
            throw ProtocolError(
                .staleTime,
                "sent_at \(RFC3339.string(from: envelope.sentAt)) is more than \(Int(allowedSkew)) s from the server's clock \(RFC3339.string(from: now))")
        }

        // A request replayed within the window costs a lookup, not a gpg run.
        guard !lookup.nonceSeen else {
            throw ProtocolError(.replay, "nonce \(envelope.nonce) was already used")
        }

        var verifiedKey: String?
        let signer: VerifiedSignature
        do {
            // An accepted key is checked against the key stored for it, at `enroll` too: a
            // device that enrolls again (to rename itself) is who it was, for the cost of any
            // request. A pending key enrolling again goes through the enrollment check as before,
            // so the server's keyring stays a cache of accepted keys (see `ServerKeyring`).
            if let device, endpoint != .enroll || device.state == .accepted {
                let started = ContinuousClock.now
                signer = try await keyring.verify(signature: signature, body: body, storedKey: device.publicKey)
                metrics.recordSignatureCheck(ContinuousClock.now - started)
            } else {
                let publicKey = try MessageFields(envelope.fields).string("public_key")
                guard enrollmentChecks.enter() else {
                    throw ProtocolError(.busy, "\(enrollmentChecks.limit) enrollments are being checked; try again later")
                }
                defer { enrollmentChecks.leave() }
                (signer, verifiedKey) = try await keyring.verifyEnrollment(
                    publicKey: publicKey, fingerprint: envelope.fingerprint, signature: signature, body: body)
            }
        } catch let error as OpenPGPError {
            // gpg's verdict. Anything else (a helper that cannot start, a full disk) is the
            // server's own failure and answers 500.
            throw ProtocolError(.badSignature, "signature does not verify: \(error)")
        }
        guard signer.fingerprint == envelope.fingerprint else {
            throw ProtocolError(.badSignature, "signed by \(signer.fingerprint), but the body claims \(envelope.fingerprint)")
        }
        // Group commit (issue 15): the nonce is recorded by the writer, in one transaction with
        // other requests' (it keeps them for twice the skew). A submit's nonce goes in with its
        // document (SubmissionService), so the two are on disk together, or neither, when the
        // device is answered; every other endpoint records it here, before it acts, so a replay
        // is refused before anything happens. Two copies that both got past `lookup.nonceSeen` above
        // meet in the writer, and the second is refused there.
        if endpoint != .submit {
            guard try await writer.recordNonce(envelope.nonce, seenAt: now) else {
                throw ProtocolError(.replay, "nonce \(envelope.nonce) was already used")
            }
        }
        // An enrollment is anyone's (anyone can make a key): it keeps its envelope alone.
        let (fields, ranges) =
            endpoint == .enroll
            ? (envelope.fields, [:])
            : try await pool.run(overBodyOf: body.count) { try Self.parseWhole(body, limits: limits) }
        return VerifiedRequest(
            endpoint: endpoint, fields: MessageFields(fields), fingerprint: envelope.fingerprint,
            host: envelope.host, nonce: envelope.nonce, device: device, verifiedPublicKey: verifiedKey,
            body: endpoint == .enroll ? Data() : body, memberRanges: ranges)
    }

    /// The body as a tree, now that a known device signed it, and where its members lie in it.
    static func parseWhole(_ body: Data, limits: JSONLimits) throws -> ([String: JSONValue], [String: Range<Int>]) {
        do {
            let object = try JSONValue.parseObject(body, limits: limits)
            return (object.members, object.ranges)
        } catch let error as JSONParseError {
            throw ProtocolError(.malformed, "the body is not valid JSON: \(error)")
        }
    }

    static func checkState(of device: Device?, for endpoint: WireProtocol.Endpoint) throws {
        switch (endpoint, device?.state) {
        case (.enroll, nil), (.enroll, .pending), (.enroll, .accepted), (_, .accepted):
            return
        case (_, nil):
            throw ProtocolError(.unknownKey, "no device has this key; enroll first")
        case (_, .pending):
            throw ProtocolError(.notAccepted, "this device is waiting for an administrator to accept it")
        case (_, .rejected):
            throw ProtocolError(.rejected, "this device's enrollment was rejected")
        case (_, .revoked):
            throw ProtocolError(.revoked, "this device's key was revoked")
        }
    }

    /// The header's signature, once it has the shape of one (see `SignatureShape`).
    static func decodeSignature(_ header: String?) throws -> Data {
        guard let header, !header.isEmpty else {
            throw ProtocolError(.missingSignature, "the \(WireProtocol.signatureHeader) header is missing")
        }
        guard header.utf8.count <= (SignatureShape.maxBytes + 2) / 3 * 4 + 8 else {
            throw ProtocolError(.badSignature, "the \(WireProtocol.signatureHeader) header is longer than a signature of \(SignatureShape.maxBytes) bytes")
        }
        var value = Substring(header)
        while value.first == " " || value.first == "\t" { value.removeFirst() }
        while value.last == " " || value.last == "\t" { value.removeLast() }
        guard let signature = Data(base64Encoded: String(value)), !signature.isEmpty else {
            throw ProtocolError(.badSignature, "the \(WireProtocol.signatureHeader) header is not base64")
        }
        do { try SignatureShape.check(signature) } catch let refusal as SignatureShape.Refusal {
            throw ProtocolError(.badSignature, "not one OpenPGP signature: \(refusal)")
        }
        return signature
    }
}

/// The common fields of a request body, parsed and validated.
struct Envelope {
    let fields: [String: JSONValue]
    let host: String
    let fingerprint: String
    let sentAt: Date
    let nonce: String

    /// The envelope's own fields.
    static let envelopeFields: Set<String> = [
        WireProtocol.Field.host, WireProtocol.Field.key, WireProtocol.Field.sentAt,
        WireProtocol.Field.nonce, WireProtocol.Field.endpoint
    ]
    /// Bodies signed before the endpoint was bound into them (clients before protocol revision
    /// 2, `WireProtocol.revision`) are accepted only where an old client fetches its
    /// replacement: `update` and `release`.
    static let unboundEndpoints: Set<WireProtocol.Endpoint> = [.update, .release]

    /// Checks the whole body's syntax but builds only the envelope (and an enrollment's fields).
    init(scanning body: Data, for endpoint: WireProtocol.Endpoint, limits: JSONLimits) throws {
        let keeping = endpoint == .enroll ? Self.envelopeFields.union(EnrollRequest.memberNames) : Self.envelopeFields
        do {
            fields = try JSONValue.topLevelMembers(of: body, keeping: keeping, limits: limits)
        } catch let error as JSONParseError {
            throw ProtocolError(.malformed, "the body is not a JSON object: \(error)")
        }
        let members = MessageFields(fields)
        host = try members.string(WireProtocol.Field.host)
        guard InputValidation.isHostname(host) else { throw ProtocolError(.malformed, "host is not a valid hostname") }
        guard let fpr = InputValidation.fingerprint(try members.string(WireProtocol.Field.key)) else {
            throw ProtocolError(.malformed, "key is not a 40-hex fingerprint")
        }
        fingerprint = fpr
        guard let sent = RFC3339.date(from: try members.string(WireProtocol.Field.sentAt)) else {
            throw ProtocolError(.malformed, "sent_at is not an RFC 3339 time")
        }
        sentAt = sent
        nonce = try members.string(WireProtocol.Field.nonce).lowercased()
        guard InputValidation.isNonce(nonce) else { throw ProtocolError(.malformed, "nonce is not 32 hex characters") }
        try Self.checkBinding(fields[WireProtocol.Field.endpoint], to: endpoint)
    }

    /// The body must name the endpoint it was sent to, so a signed body is accepted by that
    /// endpoint alone; see `unboundEndpoints` for bodies that name none.
    static func checkBinding(_ named: JSONValue?, to endpoint: WireProtocol.Endpoint) throws {
        guard let named else {
            guard unboundEndpoints.contains(endpoint) else {
                throw ProtocolError(
                    .upgradeRequired,
                    "the body names no endpoint (a client older than protocol revision 2); \(endpoint.rawValue) needs a client that binds its requests: update the client"
                )
            }
            return
        }
        guard named.stringValue == endpoint.rawValue else {
            let named = named.stringValue.map { "endpoint " + LogText.escaped($0, limit: 40) } ?? "an endpoint that is not a string"
            throw ProtocolError(.wrongEndpoint, "the body was signed for \(named), not \(endpoint.rawValue)")
        }
    }
}
