import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Why a shell session could not start or take input. Every case reads as a sentence for the admin.
public enum ShellSessionError: Error, Sendable, Equatable, CustomStringConvertible {
    case accountsUnreadable(String)
    case noSuchAccount(String)
    case badAccount(name: String, reason: String)
    /// The account is not the one this process runs as, and only root may switch.
    case notPermitted(account: String, uid: UInt32, runningAs: UInt32)
    case badRequest(String)
    case terminalFailed(errno: Int32)
    case spawnFailed(step: String, errno: Int32)
    case inputOverflow(limit: Int)
    case ended
    case logFailed(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .accountsUnreadable(let path): return "cannot read the accounts file \(path)"
        case .noSuchAccount(let name): return "no account named \(name) in the device's passwd file"
        case .badAccount(let name, let reason): return "account \(name) cannot run a shell: \(reason)"
        case .notPermitted(let account, let uid, let runningAs):
            return "cannot open a shell as \(account) (uid \(uid)): the agent runs as uid \(runningAs), "
                + "and only root may run a shell as another account"
        case .badRequest(let reason): return "invalid shell request: \(reason)"
        case .terminalFailed(let code): return "cannot open a pseudo-terminal: \(Self.text(code))"
        case .spawnFailed(let step, let code): return "cannot start the shell (\(step)): \(Self.text(code))"
        case .inputOverflow(let limit):
            return "the shell has not read its input: more than \(limit) bytes are waiting"
        case .ended: return "the shell session has ended"
        case .logFailed(let path, let code): return "cannot write the shell session log \(path): \(Self.text(code))"
        }
    }

    private static func text(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
