import Crypto
import FoundationEssentials

/// One direction of a shell session. Each has its own key and its own nonce label, so a frame
/// reflected back to its sender is sealed under the wrong key and with the wrong nonce twice over.
public enum ShellDirection: String, Sendable, CaseIterable {
    case adminToDevice
    case deviceToAdmin

    /// The 4 bytes that start every nonce of this direction: ASCII "a->d" or "d->a".
    public var nonceLabel: [UInt8] {
        switch self {
        case .adminToDevice: Array("a->d".utf8)
        case .deviceToAdmin: Array("d->a".utf8)
        }
    }

    /// HKDF's `info` for this direction's key; the version is in it so that a future layout
    /// derives other keys from the same exchange rather than reusing these.
    public var keyLabel: [UInt8] {
        switch self {
        case .adminToDevice: Array("rookery shell v1 admin->device".utf8)
        case .deviceToAdmin: Array("rookery shell v1 device->admin".utf8)
        }
    }

    /// The 12-byte nonce of frame `counter`: the label, then the counter as 64-bit big-endian.
    /// Both ends compute it from their own count, so it is never sent.
    public func nonceBytes(counter: UInt64) -> [UInt8] {
        nonceLabel + (0..<8).reversed().map { UInt8(truncatingIfNeeded: counter >> (UInt64($0) * 8)) }
    }

    func nonce(counter: UInt64) -> ChaChaPoly.Nonce {
        // Twelve bytes is exactly ChaChaPoly's nonce size, so this cannot throw.
        try! ChaChaPoly.Nonce(data: nonceBytes(counter: counter))
    }
}
