import Crypto

/// The two keys of one shell session, one per direction. Both sides hold both: each seals with
/// its sending direction's key and opens with the other.
public struct ShellSessionKeys: Sendable, CustomStringConvertible {
    public let adminToDevice: SymmetricKey
    public let deviceToAdmin: SymmetricKey

    public func key(for direction: ShellDirection) -> SymmetricKey {
        switch direction {
        case .adminToDevice: adminToDevice
        case .deviceToAdmin: deviceToAdmin
        }
    }

    /// Never the keys: this value may end up in a log line.
    public var description: String { "ShellSessionKeys(redacted)" }
}
