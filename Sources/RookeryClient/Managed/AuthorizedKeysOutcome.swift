import RookeryCore

/// What `AuthorizedKeysWriter` did to one account's authorized_keys, for the device's document.
/// `sha256` is of the file's whole content as written (the managed-by line included).
public enum AuthorizedKeysOutcome: Sendable, Equatable {
    /// The file now holds the server's keys; the old one is kept as `authorized_keys.rookery-previous`.
    case written(sha256: String)
    /// The file already held exactly this, with the right owner and mode; nothing was written.
    case unchanged(sha256: String)
    /// The account is no longer managed: its file holds only the managed-by line, and Rookery
    /// forgot the account.
    case emptied(sha256: String)
    /// Rookery will not write this file (bad account, bad key line, a symlink in the way); the
    /// old file, if any, is as it was.
    case refused(String)
    /// Writing failed (an I/O error); the old file, if any, is as it was.
    case failed(String)

    /// The outcome as the device reports it: `{"status": "written"|"unchanged"|"emptied"|"refused"|"failed", "sha256"?, "reason"?}`.
    public var reportValue: JSONValue {
        switch self {
        case .written(let sha256): return .object(["status": .string("written"), "sha256": .string(sha256)])
        case .unchanged(let sha256): return .object(["status": .string("unchanged"), "sha256": .string(sha256)])
        case .emptied(let sha256): return .object(["status": .string("emptied"), "sha256": .string(sha256)])
        case .refused(let reason): return .object(["status": .string("refused"), "reason": .string(reason)])
        case .failed(let reason): return .object(["status": .string("failed"), "reason": .string(reason)])
        }
    }
}
