import Foundation

/// Who runs an admin command, for the records that name who did what (the secret-keeping access
/// log, an exception's author): the operating-system user, and the user who ran it through sudo
/// when that is how it was run.
public struct AdminOperator: Sendable, Equatable {
    public let user: String
    public let sudoUser: String?

    public init(user: String, sudoUser: String?) {
        self.user = user
        self.sudoUser = sudoUser
    }

    /// This process's real user, and `SUDO_USER` from its environment.
    public static func current() -> AdminOperator {
        let user = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(getuid())"
        let sudo = ProcessInfo.processInfo.environment["SUDO_USER"].flatMap { $0.isEmpty ? nil : $0 }
        return AdminOperator(user: user, sudoUser: sudo)
    }

    /// `alice (as rookery)` through sudo, else `rookery`.
    public var name: String { sudoUser.map { "\($0) (as \(user))" } ?? user }
}
