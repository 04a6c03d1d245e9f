import FoundationEssentials

/// Checks a detached signature over a binary document against one device's key, the way gpg
/// (2.2, the reference) does, for the signatures Rookery's devices make: one v4 EdDSA signature
/// on Ed25519 over SHA-256 or SHA-512. Anything else is `.notUnderstood` and goes to GPGME.
///
/// gpg's checks, each matched here: the signature names its maker (issuer key ID or
/// fingerprint) and that key is in the device's key; the Ed25519 signature verifies (gpg does
/// not compare the stated left 16 bits of the hash, so neither does this); the key is no newer than the signature nor than now (gpg's "time
/// conflict"); the signature has not expired; the key (and, for a subkey, its primary key) is not
/// revoked or expired now; the key may sign (key flags, and a cross-certified subkey); no
/// critical subpacket gpg does not know. gpg accepts signatures dated in the future, and so does
/// this: the request's own `sent_at` is what the server holds to its clock.
public enum NativeSignatureCheck {
    /// Critical subpackets on a document signature that gpg honours and that change nothing here:
    /// creation time, expiration time, issuer key ID, issuer fingerprint.
    static let handledCritical: Set<UInt8> = [2, 3, 16, 33]
    /// Subpacket types from here up are unassigned or private (RFC 9580 5.2.3.7); gpg knows none,
    /// so a critical one makes it refuse the signature. Critical types below it that are not
    /// handled (notations, policy URIs, ...) depend on their content in gpg: not understood.
    static let firstUnknownType: UInt8 = 40

    public static func verify(signature: Data, data: Data, key: NativePublicKey, now: Date = Date()) -> NativeVerdict {
        do {
            return try verdict(
                signature: Array(signature), data: Array(data), key: key,
                now: UInt32(clamping: Int(now.timeIntervalSince1970)))
        } catch let notUnderstood as NotUnderstood {
            return .notUnderstood(notUnderstood.description)
        } catch {
            // A malformed packet (`SignatureShape.Refusal`): gpg's parser decides what it means.
            return .notUnderstood("\(error)")
        }
    }

    private static func verdict(signature bytes: [UInt8], data: [UInt8], key: NativePublicKey, now: UInt32) throws -> NativeVerdict {
        var packets = PacketReader(bytes)
        let (tag, body) = try packets.next()
        guard tag == SignatureShape.signatureTag, packets.atEnd else { throw NotUnderstood("not one signature packet") }
        let signature = try SignaturePacket(body: body)
        guard signature.type == SignatureShape.binaryDocument else { throw NotUnderstood("a signature of type \(signature.type)") }

        for subpacket in signature.hashed + signature.unhashed where subpacket.critical && !handledCritical.contains(subpacket.type) {
            guard subpacket.type >= firstUnknownType else { throw NotUnderstood("critical subpacket \(subpacket.type)") }
            return .refused("the signature has a critical subpacket of unknown type \(subpacket.type)")
        }
        guard let created = try signature.hashedTime(SignaturePacket.Kind.creationTime) else {
            throw NotUnderstood("a signature without a hashed creation time")
        }
        let expires = try signature.hashedTime(SignaturePacket.Kind.signatureExpiration)

        guard let signer = try maker(of: signature, in: key) else {
            return .refused("the signature was not made by this device's key")
        }
        if let reason = signer.notUnderstood { throw NotUnderstood(reason) }
        guard try signature.isMade(by: signer.packet, over: [data]) else {
            return .refused("bad signature")
        }
        guard signer.packet.creationTime <= created, signer.packet.creationTime <= now else {
            return .refused("the key is newer than the signature or than now")
        }
        if let expires, expires > 0 {
            // gpg adds in 32 bits, wrapping: a sum past 2106 is left to it.
            let (end, overflow) = created.addingReportingOverflow(expires)
            if overflow { throw NotUnderstood("a signature expiration past 2106") }
            if end <= now { return .refused("the signature expired") }
        }
        let primary = key.primary
        guard !signer.revoked, !primary.revoked else { return .refused("the key is revoked") }
        guard !isExpired(signer, now), !isExpired(primary, now) else { return .refused("the key has expired") }
        guard signer.canSign else { return .refused("the key may not sign") }
        return .accepted(fingerprint: signer.packet.fingerprintHex)
    }

    /// The member of `key` that every issuer subpacket names; nil when they name none of its
    /// members (another key made it). Issuers that disagree, or none at all, are not understood.
    private static func maker(of signature: SignaturePacket, in key: NativePublicKey) throws -> NativePublicKey.Member? {
        let issuers = try signature.issuers()
        guard !(issuers.keyIDs.isEmpty && issuers.fingerprints.isEmpty) else { throw NotUnderstood("a signature naming no issuer") }
        let named = key.members.filter { member in
            issuers.keyIDs.contains { $0.elementsEqual(member.packet.keyID) }
                || issuers.fingerprints.contains { $0.elementsEqual(member.packet.fingerprint) }
        }
        guard let only = named.first else { return nil }
        let agreeing =
            issuers.keyIDs.allSatisfy { $0.elementsEqual(only.packet.keyID) }
            && issuers.fingerprints.allSatisfy { $0.elementsEqual(only.packet.fingerprint) }
        guard named.count == 1, agreeing else { throw NotUnderstood("issuer subpackets that name different keys") }
        return only
    }

    /// gpg: expired once the expiration time is before now.
    private static func isExpired(_ member: NativePublicKey.Member, _ now: UInt32) -> Bool {
        member.expiration.map { $0 < now } ?? false
    }
}
