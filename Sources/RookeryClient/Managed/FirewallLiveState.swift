import RookeryCore

/// Whether the device's table is still the one Rookery loaded, so the server can open a drift
/// issue when someone (or something) changed it behind Rookery's back.
public enum FirewallLiveState: Sendable, Equatable {
    /// nft lists the table exactly as it did right after Rookery loaded it.
    case matches
    /// The table differs from that listing, or is gone (a reboot, `nft flush ruleset`).
    case drifted(String)
    /// Rookery has not applied a rule set on this device.
    case notManaged
    /// nft cannot be run or did not answer, so nobody can tell.
    case unknown(String)

    /// The state as the device reports it:
    /// `{"state": "matches"|"drifted"|"not_managed"|"unknown", "reason"?}`.
    public var reportValue: JSONValue {
        switch self {
        case .matches: return .object(["state": .string("matches")])
        case .drifted(let reason): return .object(["state": .string("drifted"), "reason": .string(reason)])
        case .notManaged: return .object(["state": .string("not_managed")])
        case .unknown(let reason): return .object(["state": .string("unknown"), "reason": .string(reason)])
        }
    }
}
