import FoundationEssentials

/// What kind of thing went wrong, in the terms a caller acts on. Each kind has one exit code,
/// the same for every command of `rookery` and `rookery-client`; docs/operations.md (Exit codes)
/// lists them, and scripts may rely on them.
public enum ErrorKind: String, CaseIterable, Sendable {
    /// The command could not do what was asked, for no more particular reason below.
    case failed
    /// The Rookery server could not be reached, or refused the request.
    case unreachable
    /// What was named does not exist: a device, a check, an open issue, a port, a pending patch.
    case notFound
    /// What was asked clashes with the state of things: an issue already open, a patch already
    /// pending, a port that devices still report on.
    case conflict
    /// A mistake in the command line: an unknown option, a missing or contradictory argument.
    case usage
    /// Settings, or what they name (database, keyring, certificates, issues.yml), cannot be used.
    case settings
    /// A value the admin gave is refused: not one mail address, a mode others may write, a
    /// name that matches several devices.
    case input
    /// A file or directory cannot be read or written, or holds damaged data.
    case io

    /// Below 64, what the command ran into; from 64 on, what it was given cannot be used
    /// (sysexits.h's EX_USAGE, EX_DATAERR and EX_IOERR). Usage and settings share 64: both must
    /// be fixed before anything runs, and `rookery server` has exited 64 on settings from the start.
    public var exitCode: Int32 {
        switch self {
        case .failed: 1
        case .unreachable: 3
        case .notFound: 4
        case .conflict: 5
        case .usage, .settings: 64
        case .input: 65
        case .io: 74
        }
    }

    /// The kind `error` says it is; Foundation's file errors are `io`; `failed` for any other.
    public init(of error: any Error) {
        switch error {
        case let kinded as any KindedError: self = kinded.kind
        case let cocoa as CocoaError where cocoa.isFileError: self = .io
        case is POSIXError: self = .io
        default: self = .failed
        }
    }
}
