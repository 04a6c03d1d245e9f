/// Checks the signatures a key carries about itself, each by the primary key (or, for a
/// back-signature, by the subkey) and each held to the same rules; any that fails them makes
/// the key `NotUnderstood`, since gpg would silently skip it and pick among the rest.
struct KeySignatureChecker {
    let primary: KeyPacket
    let now: UInt32

    /// The newest of `signatures` (all of `types`), each checked; there must be one.
    func newest(
        _ signatures: [SignaturePacket], types: ClosedRange<UInt8>, over parts: [[UInt8]],
        by signer: KeyPacket, created key: KeyPacket
    ) throws -> SignaturePacket {
        var newest: (time: UInt32, signature: SignaturePacket)?
        for signature in signatures where types.contains(signature.type) {
            let time = try check(signature, over: parts, by: signer, notBefore: key.creationTime)
            guard newest.map({ $0.time != time }) ?? true else { throw NotUnderstood("two self-signatures of one time") }
            if time > newest?.time ?? 0 { newest = (time, signature) }
        }
        guard let newest else { throw NotUnderstood("no self-signature") }
        return newest.signature
    }

    /// Whether a revocation of `type` is among `signatures`; each one must verify.
    func revokes(_ signatures: [SignaturePacket], type: UInt8, over parts: [[UInt8]]) throws -> Bool {
        var revoked = false
        for signature in signatures where signature.type == type {
            _ = try check(signature, over: parts, by: primary, notBefore: primary.creationTime)
            revoked = true
        }
        return revoked
    }

    /// A signing subkey's binding must embed a valid primary key binding signature made by the
    /// subkey (gpg requires this cross-certification).
    func checkBackSignature(in binding: SignaturePacket, subkey: KeyPacket, over parts: [[UInt8]]) throws {
        let embedded = (binding.hashed + binding.unhashed).filter { $0.type == SignaturePacket.Kind.embeddedSignature }
        guard embedded.count == 1 else { throw NotUnderstood("\(embedded.count) embedded back-signatures") }
        let back = try SignaturePacket(body: embedded[0].body)
        guard back.type == NativePublicKey.SignatureType.primaryKeyBinding else { throw NotUnderstood("an embedded signature that is not a back-signature") }
        _ = try check(back, over: parts, by: subkey, notBefore: subkey.creationTime)
    }

    /// A key signature by `signer`, over `parts`: issued by it, verifying, no critical subpacket
    /// beyond the plain ones, no expiration of its own, dated from `notBefore` to now. Returns its creation time.
    private func check(_ signature: SignaturePacket, over parts: [[UInt8]], by signer: KeyPacket, notBefore: UInt32) throws -> UInt32 {
        if let critical = (signature.hashed + signature.unhashed).first(where: { $0.critical && !NativePublicKey.handledCritical.contains($0.type) }) {
            throw NotUnderstood("a key signature with critical subpacket \(critical.type)")
        }
        let issuers = try signature.issuers()
        guard issuers.keyIDs.allSatisfy({ $0.elementsEqual(signer.keyID) }),
            issuers.fingerprints.allSatisfy({ $0.elementsEqual(signer.fingerprint) }),
            !(issuers.keyIDs.isEmpty && issuers.fingerprints.isEmpty)
        else {
            throw NotUnderstood("a key signature by another key")
        }
        guard try signature.hashedOnly(SignaturePacket.Kind.signatureExpiration) == nil else {
            throw NotUnderstood("a key signature that expires")
        }
        guard let time = try signature.hashedTime(SignaturePacket.Kind.creationTime), time >= notBefore, time <= now else {
            throw NotUnderstood("a key signature without a creation time between the key's and now")
        }
        guard try signature.isMade(by: signer, over: parts) else { throw NotUnderstood("a key signature that does not verify") }
        return time
    }
}
