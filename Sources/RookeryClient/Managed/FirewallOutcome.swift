import RookeryCore

/// What one `FirewallApplier` step did, for the device's document.
public enum FirewallOutcome: Sendable, Equatable {
    /// The rule set was loaded and nft lists the table. `sha256` is of the rule set's text.
    case applied(sha256: String)
    /// The rule set is the one last applied; nft was not run.
    case unchanged(sha256: String)
    /// The table was deleted (or never loaded) and nothing is managed any more.
    case removed
    /// The text is not acceptable as the device's table; nft was not run.
    case refused(String)
    /// nft could not load or list the table. `rolledBack` is true when the table in force is the
    /// one the device had before (nft's transaction did not commit, or the last good set was
    /// loaded again), false when the device's firewall is now in a state Rookery did not choose.
    case failed(String, rolledBack: Bool)

    /// The outcome as the device reports it:
    /// `{"status": "applied"|"unchanged"|"removed"|"refused"|"failed", "sha256"?, "reason"?, "rolled_back"?}`.
    public var reportValue: JSONValue {
        switch self {
        case .applied(let sha256): return .object(["status": .string("applied"), "sha256": .string(sha256)])
        case .unchanged(let sha256): return .object(["status": .string("unchanged"), "sha256": .string(sha256)])
        case .removed: return .object(["status": .string("removed")])
        case .refused(let reason): return .object(["status": .string("refused"), "reason": .string(reason)])
        case .failed(let reason, let rolledBack):
            return .object(["status": .string("failed"), "reason": .string(reason), "rolled_back": .bool(rolledBack)])
        }
    }
}
