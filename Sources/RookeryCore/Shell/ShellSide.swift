/// Which end of a remote shell session a key exchange or channel belongs to.
public enum ShellSide: String, Sendable, CaseIterable {
    /// The administrator's end: `client_shell` on the server host.
    case admin
    /// The device's end: the client running the shell.
    case device

    /// The other end of the session.
    public var peer: ShellSide {
        switch self {
        case .admin: .device
        case .device: .admin
        }
    }

    /// The direction of the frames this side seals.
    public var sendingDirection: ShellDirection {
        switch self {
        case .admin: .adminToDevice
        case .device: .deviceToAdmin
        }
    }

    /// The direction of the frames this side opens.
    public var receivingDirection: ShellDirection { peer.sendingDirection }
}
