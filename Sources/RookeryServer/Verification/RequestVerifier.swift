import Foundation
import RookeryCore

/// A request that passed every check of the protocol, in DESIGN.md's order.
public struct VerifiedRequest: Sendable {
    public let fields: [String: JSONValue]
    public let fingerprint: String
    public let host: String
    /// Echoed in signed answers, so a device can tell a fresh answer from a replayed one.
    public let nonce: String
    /// The device as stored; nil only for a first enrollment.
    public let device: Device?
    /// For an enrollment: the verified key, exported alone.
    public let verifiedPublicKey: String?
}

/// Checks, in order: JSON, known key in a state that allows the endpoint, signature made by exactly
/// that key, sent_at within the allowed skew, nonce not seen before. (The size limit is enforced
/// while the body is read.) Each failure is a `ProtocolError` with its status and code.
public struct RequestVerifier: Sendable {
    let store: any Store
    let keyring: ServerKeyring
    let allowedSkew: TimeInterval

    public func verify(endpoint: WireProtocol.Endpoint, body: Data, signatureHeader: String?,
                       now: Date = Date()) async throws -> VerifiedRequest {
        let envelope = try Envelope(parsing: body)
        let device = try await store.device(fingerprint: envelope.fingerprint)
        try Self.checkState(of: device, for: endpoint)

        let signature = try Self.decodeSignature(signatureHeader)
        var verifiedKey: String?
        let signer: VerifiedSignature
        do {
            if let device, endpoint != .enroll {
                signer = try await keyring.verify(signature: signature, body: body, storedKey: device.publicKey)
            } else {
                let publicKey = try envelope.requiredString("public_key")
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

        guard abs(envelope.sentAt.timeIntervalSince(now)) <= allowedSkew else {
            throw ProtocolError(.staleTime, "sent_at \(RFC3339.string(from: envelope.sentAt)) is more than \(Int(allowedSkew)) s from the server's clock \(RFC3339.string(from: now))")
        }
        // Remembered for twice the skew: older nonces belong to requests refused as stale anyway.
        guard try await store.recordNonce(envelope.nonce, seenAt: now, pruneBefore: now.addingTimeInterval(-2 * allowedSkew)) else {
            throw ProtocolError(.replay, "nonce \(envelope.nonce) was already used")
        }
        return VerifiedRequest(fields: envelope.fields, fingerprint: envelope.fingerprint,
                               host: envelope.host, nonce: envelope.nonce, device: device, verifiedPublicKey: verifiedKey)
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

    static func decodeSignature(_ header: String?) throws -> Data {
        guard let header, !header.isEmpty else {
            throw ProtocolError(.missingSignature, "the \(WireProtocol.signatureHeader) header is missing")
        }
        guard let signature = Data(base64Encoded: header.trimmingCharacters(in: .whitespaces)), !signature.isEmpty else {
            throw ProtocolError(.badSignature, "the \(WireProtocol.signatureHeader) header is not base64")
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

    init(parsing body: Data) throws {
        guard let value = try? JSONValue.parse(body), case .object(let fields) = value else {
            throw ProtocolError(.malformed, "the body is not a JSON object")
        }
        self.fields = fields
        host = try Self.string(fields, WireProtocol.Field.host)
        guard InputValidation.isHostname(host) else { throw ProtocolError(.malformed, "host is not a valid hostname") }
        guard let fpr = InputValidation.fingerprint(try Self.string(fields, WireProtocol.Field.key)) else {
            throw ProtocolError(.malformed, "key is not a 40-hex fingerprint")
        }
        fingerprint = fpr
        guard let sent = RFC3339.date(from: try Self.string(fields, WireProtocol.Field.sentAt)) else {
            throw ProtocolError(.malformed, "sent_at is not an RFC 3339 time")
        }
        sentAt = sent
        nonce = try Self.string(fields, WireProtocol.Field.nonce).lowercased()
        guard InputValidation.isNonce(nonce) else { throw ProtocolError(.malformed, "nonce is not 32 hex characters") }
    }

    func requiredString(_ name: String) throws -> String { try Self.string(fields, name) }

    static func string(_ fields: [String: JSONValue], _ name: String) throws -> String {
        guard let value = fields[name]?.stringValue else {
            throw ProtocolError(.malformed, "\(name) is missing or not a string")
        }
        return value
    }
}
