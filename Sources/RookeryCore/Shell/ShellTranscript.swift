import FoundationEssentials

/// What the shell's keys are bound to: the session, both ephemeral public keys and the device's
/// OpenPGP fingerprint. It goes into HKDF as the salt, so keys derived for one session or device
/// open nothing of another, even if an ephemeral key were reused.
public struct ShellTranscript: Sendable, Equatable {
    public let sessionID: String
    /// The admin side's X25519 public key, 32 raw bytes.
    public let adminPublicKey: Data
    /// The device side's X25519 public key, 32 raw bytes.
    public let devicePublicKey: Data
    /// The device's OpenPGP fingerprint, 40 hex digits, upper case.
    public let deviceFingerprint: String

    public init(sessionID: String, adminPublicKey: Data, devicePublicKey: Data, deviceFingerprint: String) throws {
        guard InputValidation.isIdentifier(sessionID) else { throw ShellKeyExchangeError.badSessionID(sessionID) }
        guard let fingerprint = InputValidation.fingerprint(deviceFingerprint) else {
            throw ShellKeyExchangeError.badFingerprint(deviceFingerprint)
        }
        for (whose, key) in [("admin's", adminPublicKey), ("device's", devicePublicKey)] {
            guard key.count == ShellKeyExchange.publicKeySize else {
                throw ShellKeyExchangeError.wrongPublicKeyLength(whose: whose, count: key.count)
            }
        }
        guard adminPublicKey != devicePublicKey else { throw ShellKeyExchangeError.sameKeyOnBothSides }
        self.sessionID = sessionID
        self.adminPublicKey = Data(adminPublicKey)
        self.devicePublicKey = Data(devicePublicKey)
        self.deviceFingerprint = fingerprint
    }

    /// The public key the transcript names for `side`.
    public func publicKey(of side: ShellSide) -> Data {
        switch side {
        case .admin: adminPublicKey
        case .device: devicePublicKey
        }
    }

    /// Each field as a 16-bit big-endian length then its bytes, so that no two transcripts encode
    /// alike (a session id cannot run into a key).
    public var encoded: [UInt8] {
        let fields: [[UInt8]] = [
            Array(sessionID.utf8), Array(adminPublicKey), Array(devicePublicKey), Array(deviceFingerprint.utf8)
        ]
        return fields.flatMap { field in [UInt8(field.count >> 8), UInt8(field.count & 0xFF)] + field }
    }
}
