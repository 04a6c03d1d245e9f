/// Why a shell key exchange was refused. Messages say which value is wrong and what that
/// suggests; they never hold key material.
public enum ShellKeyExchangeError: KindedError, Equatable, Sendable {
    case wrongPublicKeyLength(whose: String, count: Int)
    case lowOrderPublicKey(whose: String)
    case sameKeyOnBothSides
    case badSessionID(String)
    case badFingerprint(String)
    case notThisSidesKey(side: ShellSide)
    case peerKeyNotInTranscript(peer: ShellSide)

    public var kind: ErrorKind { .failed }

    public var description: String {
        switch self {
        case .wrongPublicKeyLength(let whose, let count):
            return "the \(whose) shell key is \(count) bytes long: an X25519 public key is exactly 32 bytes; the key was damaged or is not a shell key"
        case .lowOrderPublicKey(let whose):
            return
                "the \(whose) shell key is a low-order point (the shared secret came out all zero): it would let a third party know the session keys; the key is forged or damaged"
        case .sameKeyOnBothSides:
            return "the admin's and the device's shell keys are the same: one side's key was reflected back to it; refusing the session"
        case .badSessionID(let id):
            return "shell session id \(id.debugDescription) cannot be used: it must be 1 to 128 of A-Z, a-z, 0-9, '.', '_', '-'"
        case .badFingerprint(let text):
            return "device fingerprint \(text.debugDescription) is not a 40-hex OpenPGP fingerprint"
        case .notThisSidesKey(let side):
            return "the session's \(side.rawValue) key is not this side's own key: this exchange belongs to another session"
        case .peerKeyNotInTranscript(let peer):
            return "the \(peer.rawValue)'s key given is not the one the session names: the key was swapped on the way"
        }
    }
}
