import Foundation

/// One applied change of a device's hostname, as the device's rename trail keeps it.
public struct DeviceRename: Codable, Sendable, Equatable {
    public var fingerprint: String
    public var oldHostname: String
    public var newHostname: String
    public var renamedAt: Date

    public init(fingerprint: String, oldHostname: String, newHostname: String, renamedAt: Date) {
        self.fingerprint = fingerprint
        self.oldHostname = oldHostname
        self.newHostname = newHostname
        self.renamedAt = renamedAt
    }

    /// A device keeps this many renames, its newest; older ones are dropped as new ones come.
    public static let kept = 20
}

/// What a store did with an enrollment that asked for a new hostname (see `Store.rename`).
public enum RenameOutcome: Sendable, Equatable {
    /// The device has the new name now.
    case renamed(Device, DeviceRename)
    /// The device asked for the name it has: a rename it asked for before, if held, is dropped.
    case unchanged(Device)
    /// Another key holds the name: the device keeps its own and is flagged (`Device.renameHeldFlag`).
    case held(Device)
    /// Only an accepted device may rename itself; nothing changed. nil: the key is not known.
    case notAccepted(DeviceState?)
}
