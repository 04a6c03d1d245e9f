import FoundationEssentials

/// A device's public key as gpg would judge it, read once from its armored form: the primary
/// key and its subkeys, each with when it expires, whether it is revoked and whether it may sign.
///
/// Only the plain shapes are read: one v4 primary key, one user ID with its self-signatures,
/// key revocations by the primary key, subkeys with their binding signatures (and, for signing
/// subkeys, the embedded back-signature) and subkey revocations. Every such signature must verify,
/// be over SHA-256 or SHA-512, and be dated between the key's creation and now. Anything else
/// (several user IDs, third-party or direct-key signatures, designated revokers, a self-signature
/// that does not verify, a critical subpacket) is `NotUnderstood`: gpg's rules for choosing among
/// those are not copied, GPGME judges them.
public struct NativePublicKey: Sendable {
    /// One key that may have made a signature: the primary key or a subkey.
    struct Member: Sendable {
        let packet: KeyPacket
        /// Seconds since 1970 after which gpg calls it expired; nil: never.
        let expiration: UInt32?
        let revoked: Bool
        let canSign: Bool
        /// Why a subkey cannot be judged natively (no binding signature, not Ed25519, ...); nil for one that can.
        let notUnderstood: String?
    }

    let primary: Member
    let subkeys: [Member]

    /// The primary key's 40-hex fingerprint, upper case.
    public var fingerprint: String { primary.packet.fingerprintHex }

    /// Signature types on keys (RFC 9580 5.2.1).
    enum SignatureType {
        static let userIDCertifications: ClosedRange<UInt8> = 0x10...0x13
        static let subkeyBinding: UInt8 = 0x18, primaryKeyBinding: UInt8 = 0x19
        static let keyRevocation: UInt8 = 0x20, subkeyRevocation: UInt8 = 0x28
    }

    /// Critical subpackets gpg honours on self-signatures and that mean nothing more here.
    /// (Not 23, key server preferences: gpg refuses a self-signature where it is critical.)
    static let handledCritical: Set<UInt8> = [2, 9, 11, 16, 21, 22, 25, 27, 30, 32, 33]

    /// Reads an armored key block (bounded by `PublicKeyShape`). Throws `NotUnderstood` for
    /// anything outside the shapes above, malformed packets included.
    public init(armored: String, now: Date = Date()) throws {
        do {
            let binary = try PublicKeyShape.check(armored: armored)
            try self.init(packets: Array(binary), now: UInt32(clamping: Int(now.timeIntervalSince1970)))
        } catch let refusal as SignatureShape.Refusal {
            throw NotUnderstood("the stored key: \(refusal)")
        }
    }

    init(packets bytes: [UInt8], now: UInt32) throws {
        var reader = PacketReader(bytes)
        var packets: [(tag: UInt8, body: ArraySlice<UInt8>)] = []
        while !reader.atEnd { packets.append(try reader.next()) }
        guard let first = packets.first, first.tag == 6 else { throw NotUnderstood("a key block not starting with a public key") }
        let primaryKey = try KeyPacket(body: first.body)
        var keyLevel: [SignaturePacket] = []
        var userIDs: [(id: ArraySlice<UInt8>, signatures: [SignaturePacket])] = []
        var subkeyPackets: [(key: KeyPacket, signatures: [SignaturePacket])] = []
        for packet in packets.dropFirst() {
            switch packet.tag {
            case 2:
                let signature = try SignaturePacket(body: packet.body)
                if !subkeyPackets.isEmpty {
                    subkeyPackets[subkeyPackets.count - 1].signatures.append(signature)
                } else if !userIDs.isEmpty {
                    userIDs[userIDs.count - 1].signatures.append(signature)
                } else {
                    keyLevel.append(signature)
                }
            case 13:
                guard subkeyPackets.isEmpty else { throw NotUnderstood("a user ID after a subkey") }
                userIDs.append((packet.body, []))
            case 14:
                subkeyPackets.append((try KeyPacket(body: packet.body), []))
            default:
                throw NotUnderstood("a packet of type \(packet.tag) in the key")
            }
        }
        guard userIDs.count == 1, let userID = userIDs.first else { throw NotUnderstood("\(userIDs.count) user IDs") }
        let checker = KeySignatureChecker(primary: primaryKey, now: now)
        guard keyLevel.allSatisfy({ $0.type == SignatureType.keyRevocation }),
            userID.signatures.allSatisfy({ SignatureType.userIDCertifications.contains($0.type) })
        else {
            throw NotUnderstood("a signature of another type than self-signatures and key revocations")
        }

        let uidForm = [0xB4] + Self.bigEndian32(userID.id.count) + Array(userID.id)
        let selfSignature = try checker.newest(
            userID.signatures, types: SignatureType.userIDCertifications,
            over: [primaryKey.hashedForm, uidForm], by: primaryKey, created: primaryKey)
        guard let flags = try selfSignature.hashedOnly(SignaturePacket.Kind.keyFlags)?.first else {
            throw NotUnderstood("a self-signature without key flags")
        }
        let revoked = try checker.revokes(keyLevel, type: SignatureType.keyRevocation, over: [primaryKey.hashedForm])
        primary = Member(
            packet: primaryKey, expiration: try Self.expiration(of: primaryKey, in: selfSignature),
            revoked: revoked, canSign: flags & 0x02 != 0, notUnderstood: nil)
        subkeys = subkeyPackets.map { Self.subkey($0.key, $0.signatures, checker: checker) }
    }

    /// A subkey as gpg judges it; a subkey that cannot be judged natively is kept, marked, so
    /// that a signature naming it goes to GPGME and not to a guess.
    private static func subkey(_ key: KeyPacket, _ signatures: [SignaturePacket], checker: KeySignatureChecker) -> Member {
        let hashed = [checker.primary.hashedForm, key.hashedForm]
        do {
            guard key.ed25519 != nil else { throw NotUnderstood("a subkey that is not Ed25519") }
            guard signatures.allSatisfy({ [SignatureType.subkeyBinding, SignatureType.subkeyRevocation].contains($0.type) }) else {
                throw NotUnderstood("a signature on a subkey that is neither a binding nor a revocation")
            }
            let binding = try checker.newest(
                signatures, types: SignatureType.subkeyBinding...SignatureType.subkeyBinding,
                over: hashed, by: checker.primary, created: key)
            guard let flags = try binding.hashedOnly(SignaturePacket.Kind.keyFlags)?.first else {
                throw NotUnderstood("a subkey binding without key flags")
            }
            let canSign = flags & 0x02 != 0
            if canSign { try checker.checkBackSignature(in: binding, subkey: key, over: hashed) }
            let revoked = try checker.revokes(signatures, type: SignatureType.subkeyRevocation, over: hashed)
            return Member(
                packet: key, expiration: try expiration(of: key, in: binding), revoked: revoked,
                canSign: canSign, notUnderstood: nil)
        } catch {
            return Member(packet: key, expiration: nil, revoked: false, canSign: false, notUnderstood: "\(error)")
        }
    }

    /// The key expiration time subpacket counts seconds from the key's creation; 0 or none: never.
    /// gpg adds the two in 32 bits, so an expiry past 2106 wraps to an ordinary date there:
    /// such a key is not understood here, never read as one that does not expire.
    private static func expiration(of key: KeyPacket, in signature: SignaturePacket) throws -> UInt32? {
        guard let seconds = try signature.hashedTime(SignaturePacket.Kind.keyExpiration), seconds > 0 else { return nil }
        let (sum, overflow) = key.creationTime.addingReportingOverflow(seconds)
        guard !overflow else { throw NotUnderstood("a key expiry past 2106") }
        return sum
    }

    static func bigEndian32(_ value: Int) -> [UInt8] {
        [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// The primary key, then every subkey.
    var members: [Member] { [primary] + subkeys }
}
