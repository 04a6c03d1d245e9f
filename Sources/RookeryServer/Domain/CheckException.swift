import Foundation

/// A check accepted as not applicable to one device, until a date: `bin/issues except`. While it
/// runs the audit opens no issue of that check on that device and closes the one open (reason
/// `excepted`); once it ends the check counts again, and a device still failing it gets a new
/// issue at the next audit.
public struct CheckException: Sendable, Equatable {
    public var id: Int64?
    public var fingerprint: String
    public var check: String
    /// Why, as the admin wrote it.
    public var reason: String
    /// Who made it: the admin's login name on the server host.
    public var createdBy: String
    public var createdAt: Date
    /// When it ends (an early `bin/issues unexcept` moves it to then).
    public var until: Date

    public init(
        id: Int64? = nil, fingerprint: String, check: String, reason: String, createdBy: String, createdAt: Date,
        until: Date
    ) {
        self.id = id
        self.fingerprint = fingerprint
        self.check = check
        self.reason = reason
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.until = until
    }

    public func isActive(at now: Date) -> Bool { createdAt <= now && now < until }

    /// The longest reason kept, in UTF-8 bytes.
    public static let maxReasonBytes = 1000
}

/// What the audit asks of the exceptions: which ones run now, by device and check.
public struct ActiveExceptions: Sendable {
    private let byDevice: [String: [String: CheckException]]

    public init(_ exceptions: [CheckException], at now: Date) {
        var byDevice: [String: [String: CheckException]] = [:]
        for exception in exceptions where exception.isActive(at: now) {
            byDevice[exception.fingerprint, default: [:]][exception.check] = exception
        }
        self.byDevice = byDevice
    }

    public static let none = ActiveExceptions([], at: Date())

    func exception(_ check: String, of fingerprint: String) -> CheckException? { byDevice[fingerprint]?[check] }
}
