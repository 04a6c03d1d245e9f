import Foundation
import RookeryCore

/// Where a device stands. Only `accepted` devices may submit.
public enum DeviceState: String, Codable, Sendable, CaseIterable {
    case pending, accepted, rejected, revoked
}

/// A device is its key: the fingerprint is the identity, the hostname only its name.
public struct Device: Codable, Sendable, Equatable {
    public var fingerprint: String
    public var publicKey: String
    public var hostname: String
    public var machineID: String
    public var state: DeviceState
    public var enrolledAt: Date
    public var acceptedAt: Date?
    public var lastSubmissionAt: Date?
    /// Why an admin should look twice, e.g. another key already uses this hostname.
    public var flags: [String]
    /// The client release the device last said it runs (nil before its first update request).
    public var clientRelease: Int?
    /// Set by `bin/issues suspend`: the device's issues are hidden until it next reports.
    public var suspendedAt: Date?

    public init(
        fingerprint: String, publicKey: String, hostname: String, machineID: String,
        state: DeviceState, enrolledAt: Date, acceptedAt: Date? = nil,
        lastSubmissionAt: Date? = nil, flags: [String] = [], clientRelease: Int? = nil,
        suspendedAt: Date? = nil
    ) {
        self.fingerprint = fingerprint
        self.publicKey = publicKey
        self.hostname = hostname
        self.machineID = machineID
        self.state = state
        self.enrolledAt = enrolledAt
        self.acceptedAt = acceptedAt
        self.lastSubmissionAt = lastSubmissionAt
        self.flags = flags
        self.clientRelease = clientRelease
        self.suspendedAt = suspendedAt
    }

    /// Suspended, and has not reported since.
    public var isSuspended: Bool {
        guard let suspendedAt else { return false }
        return lastSubmissionAt.map { $0 <= suspendedAt } ?? true
    }
}

extension Device {
    /// The hostname as clash detection compares it: ASCII letters folded to lower case, trailing
    /// dots dropped, so `Laptop.example.` clashes with `laptop.example`. Hostnames are ASCII (see
    /// `InputValidation.isHostname`); SQLite's `lower(rtrim(hostname, '.'))` computes the same.
    static func clashName(of hostname: String) -> String {
        String(hostname.reversed().drop { $0 == "." }.reversed()).lowercased()
    }

    /// This newly enrolling device as a store records it: flagged when it looks like a clone of
    /// `others` or its key was revoked and then forgotten (`forgottenAt`), and accepted only if
    /// `acceptUnlessFlagged` and nothing was flagged. Every store's `enroll` decides through this.
    func enrolling(besides others: [Device], forgottenAt: Date?, acceptUnlessFlagged: Bool) -> Device {
        var device = self
        device.flags = clashFlags(with: others)
        if let forgottenAt {
            device.flags.append(
                "this key was revoked, then forgotten on \(RFC3339.string(from: forgottenAt)); "
                    + "accept it only if the device is trusted again")
        }
        if acceptUnlessFlagged && device.flags.isEmpty {
            device.state = .accepted
            device.acceptedAt = enrolledAt
        }
        return device
    }

    /// Why this device looks like a clone of `others` (devices with other keys that share its
    /// hostname, compared by `clashName`, or its machine id); empty when it does not.
    func clashFlags(with others: [Device]) -> [String] {
        let name = Self.clashName(of: hostname)
        return others.filter { $0.fingerprint != fingerprint }.map { other in
            switch other.hostname {
            case hostname: "hostname \(hostname) is also used by key \(other.fingerprint)"
            case _ where Self.clashName(of: other.hostname) == name:
                "hostname \(hostname) is also used, written \(other.hostname), by key \(other.fingerprint)"
            default: "machine id is also used by key \(other.fingerprint) (\(other.hostname))"
            }
        }
    }
}

extension Device {
    /// How the flag of a held rename begins (see `renameHeldFlag`).
    static let renameHeldPrefix = "asks to be renamed to "

    /// The flag of a rename the device asked for while other keys hold the name: `clashes` as
    /// `clashFlags` words them. The device's next rename request replaces it.
    static func renameHeldFlag(to hostname: String, clashes: [String]) -> String {
        renameHeldPrefix + hostname + ", held because " + clashes.joined(separator: "; ")
            + "; forget the other device if it is gone, or give this one another hostname"
    }

    static func isRenameHeldFlag(_ flag: String) -> Bool {
        flag.hasPrefix(renameHeldPrefix)
    }
}
