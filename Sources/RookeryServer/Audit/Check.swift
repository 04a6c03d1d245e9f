import Foundation

/// One check of the audit, from `server/issues.yml`: what makes a device fail it, how long it may
/// fail before anyone is told, and how often to tell again.
public struct Check: Sendable {
    public enum Kind: Sendable {
        /// A condition over the device's document.
        case condition(Condition)
        /// The device has not reported for `after` (linked devices of one owner excepted).
        case notReporting(after: TimeInterval)
        /// A patch has waited longer than `after` for the device to acknowledge it.
        case pendingPatches(after: TimeInterval)
        /// Another key uses the device's hostname or machine id.
        case duplicateHost
        /// A plugin's whole output is "unknown": it failed, hung or printed garbage.
        case pluginFailed
        /// The device's latest submission came in on a port marked deprecated.
        case deprecatedPort
        /// A certificate the server is configured with expires within `after`, has expired, or
        /// cannot be read. About the server itself, not any device (see ServerAudit).
        case expiringCertificate(after: TimeInterval)
    }

    /// What a condition's `unknown` counts as; not when it turns on a secret value, which leaves
    /// the check not evaluable (see CheckEvaluator).
    public enum MissingPolicy: String, Sendable, CaseIterable {
        case pass, fail, unknown
    }

    public var name: String
    public var description: String
    public var kind: Kind
    public var missing: MissingPolicy = .unknown
    /// How long an issue stays open before it is reported (business time with a calendar).
    public var grace: TimeInterval = 0
    /// How often an open, reported issue is reported again.
    public var alertEvery: TimeInterval = 86_400
    public var remediation: String?
    /// Where to POST a JSON notice when this check alerts, besides the global webhook.
    public var webhook: String?
    /// The groups (`bin/groups`) whose members the check applies to; nil: every device.
    public var groups: [String]?

    public init(name: String, description: String, kind: Kind) {
        self.name = name
        self.description = description
        self.kind = kind
    }

    /// Whether the check is about the server itself: evaluated once per audit, never per device.
    public var isServerCheck: Bool {
        if case .expiringCertificate = kind { return true }
        return false
    }

    /// The kinds that `computed:` names in issues.yml.
    public static let computedKinds = [
        "not-reporting", "pending-patches", "duplicate-host", "plugin-failed",
        "deprecated-port", "expiring-certificate"
    ]
}

/// Durations as issues.yml writes them: `0`, `30m`, `12h`, `7d`, `2w`, or sums such as `1d12h`.
public enum DurationText {
    private static let units: [Character: TimeInterval] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]

    public static func seconds(_ text: String) -> TimeInterval? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "0" { return 0 }
        var total: TimeInterval = 0
        var digits = ""
        for c in trimmed {
            if c.isASCII && c.isNumber {
                digits.append(c)
            } else if let unit = units[c], let amount = Double(digits) {
                total += amount * unit
                digits = ""
            } else {
                return nil
            }
        }
        return digits.isEmpty && !trimmed.isEmpty ? total : nil
    }
}

/// What issues.yml allows a check to be called (`CheckCatalog` refuses others; URLs and `bin/issues` take no others).
enum CheckName {
    static func isValid(_ name: String) -> Bool {
        name.range(of: "^[a-z0-9][a-z0-9_-]{0,62}$", options: .regularExpression) != nil
    }
}
