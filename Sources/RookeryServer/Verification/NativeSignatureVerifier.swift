import Crypto
import Foundation
import RookeryCore

/// Checks device signatures in this process with swift-crypto (`NativeSignatureCheck`), each
/// device's key read from its stored armored form once and then kept in memory.
///
/// The keys are kept by the SHA-256 of the stored text: that text is what the keyring is handed
/// for each request, and its digest names both the key (its fingerprint is inside) and the state
/// it was stored in, so a key stored again (a new self-signature, a revocation) is read again and
/// never judged by a stale copy. A key the native checks do not understand is remembered as such.
///
/// Bounded: one entry is the parsed key (its packets, about 60 bytes each, fingerprints, an
/// Ed25519 point) plus the digest and dictionary overhead, well under 1 KB; `capacity` entries of
/// 100,000 (the largest fleet the benchmarks enroll) hold under 100 MB and keep every device of
/// such a fleet read once. Past it, an arbitrary entry makes room: with devices reporting at
/// random that is as good as least-recently-used, costs no bookkeeping per hit, and a device
/// evicted costs one more read of its key (about 0.1 ms: two Ed25519 checks).
public final class NativeSignatureVerifier: Sendable {
    /// What GPGME reports for a good signature under the keyring's `trust-model always`.
    static let validity = VerifiedSignature.Validity.unknown

    private let capacity: Int
    private let keys = Locked<[SHA256Digest: Result<NativePublicKey, KeyNotUnderstood>]>([:])

    struct KeyNotUnderstood: Error { let reason: String }

    public init(capacity: Int = 100_000) {
        self.capacity = max(1, capacity)
    }

    /// The native verdict on `signature` over `body` by the device whose stored key is `storedKey`.
    public func verify(signature: Data, body: Data, storedKey: String, now: Date = Date()) -> NativeVerdict {
        switch key(storedKey) {
        case .success(let key):
            return NativeSignatureCheck.verify(signature: signature, data: body, key: key, now: now)
        case .failure(let notUnderstood):
            return .notUnderstood(notUnderstood.reason)
        }
    }

    /// Keys held now (for tests and benchmarks).
    public var count: Int { keys.withLock { $0.count } }

    private func key(_ storedKey: String) -> Result<NativePublicKey, KeyNotUnderstood> {
        let digest = SHA256.hash(data: Data(storedKey.utf8))
        if let known = keys.withLock({ $0[digest] }) { return known }
        // Read outside the lock: two first requests of one device may both read it, harmlessly.
        let read: Result<NativePublicKey, KeyNotUnderstood>
        do { read = .success(try NativePublicKey(armored: storedKey)) } catch { read = .failure(KeyNotUnderstood(reason: "\(error)")) }
        keys.withLock { keys in
            if keys.count >= capacity, keys[digest] == nil { keys.remove(at: keys.startIndex) }
            keys[digest] = read
        }
        return read
    }
}
