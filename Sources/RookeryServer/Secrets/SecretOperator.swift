import Foundation

/// Who runs a secret-keeping command, for the access log: the operating-system user, and the
/// user who ran it through sudo when that is how it was run.
public struct SecretOperator: Sendable, Equatable {
    public let user: String
    public let sudoUser: String?

    public init(user: String, sudoUser: String?) {
        self.user = user
        self.sudoUser = sudoUser
    }

    /// This process's real user, and `SUDO_USER` from its environment.
    public static func current() -> SecretOperator {
        let user = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(getuid())"
        let sudo = ProcessInfo.processInfo.environment["SUDO_USER"].flatMap { $0.isEmpty ? nil : $0 }
        return SecretOperator(user: user, sudoUser: sudo)
    }
}
