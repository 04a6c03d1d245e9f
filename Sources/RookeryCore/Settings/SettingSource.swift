/// Where one of a device's effective settings came from, for `rookery-client status`: an admin
/// moving devices must be able to see whether the release or the device's owner decides.
public enum SettingSource: Sendable, Equatable, CustomStringConvertible {
    /// Nothing set it: the built-in default.
    case builtIn
    /// The release-managed file, `client/release.yml`: the installed release's, or before the
    /// first release the install root's (from an unpacked release, or written by client-setup.sh).
    case release(file: String)
    /// The fleet's settings the server manages (`server/client-settings.yml`), as the device adopted them.
    case fleet(file: String)
    /// The device owner's `client/settings.yml`.
    case owner(file: String)
    /// The files could not be used, so the device runs on its last good copy (see `DeviceSettings`).
    case lastGood(file: String)

    /// One word a script can match on.
    public var kind: String {
        switch self {
        case .builtIn: "default"
        case .release: "release"
        case .fleet: "fleet"
        case .owner: "owner"
        case .lastGood: "last-good"
        }
    }

    public var file: String? {
        switch self {
        case .builtIn: nil
        case .release(let file), .fleet(let file), .owner(let file), .lastGood(let file): file
        }
    }

    public var description: String { file.map { "\(kind) (\($0))" } ?? kind }
}
