import Foundation
import RookeryCore

/// What one check says about one device, and since when.
public struct Evaluation: Sendable, Equatable {
    public var verdict: Verdict
    /// When the problem began as far as the server can tell: the submission time of the document
    /// that shows it, or the moment a computed threshold was crossed.
    public var since: Date
    /// What was seen, for the report.
    public var detail: String
}

/// Evaluates checks against the facts the store gathered about one device.
public struct CheckEvaluator: Sendable {
    /// Linked devices cover for one that is away for at most this long.
    public static let linkedCoverLimit: TimeInterval = 31 * 86_400

    /// Paths the admin made secret (`bin/secret_keeping select`): checks treat a value there as
    /// secret even where the store holds none or holds it in clear.
    public let secretSelectors: [SecretSelector]

    public init(secretSelectors: [SecretSelector] = []) {
        self.secretSelectors = secretSelectors
    }

    public func evaluate(_ check: Check, on subject: AuditSubject, now: Date) -> Evaluation {
        var evaluation = verdict(check, on: subject, now: now)
        // Details quote what devices sent (plugin names, values) into reports, mail and terminals.
        evaluation.detail = Self.printable(evaluation.detail)
        return evaluation
    }

    /// Control characters (C0, DEL, C1) and line separators become "?".
    static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnprintable) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { isUnprintable($0) ? "?" : $0 }))
    }

    private static func isUnprintable(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}"
    }

    private func verdict(_ check: Check, on subject: AuditSubject, now: Date) -> Evaluation {
        let device = subject.device
        let dataAt = device.lastSubmissionAt ?? now
        switch check.kind {
        case .condition(let condition):
            let input = SecretShield(subject.projection, selectors: secretSelectors)
            let raw = condition.evaluate(input)
            // An unknown that may come from a secret is not evaluable, whatever `missing:` says: that
            // policy is for data a device did not send, and a secret must neither open nor close an
            // issue. A secret among the values read counts even when a missing value elsewhere also
            // left the answer open: the safe side.
            if raw == .unknown, let secret = secretPaths(condition, input) {
                return Evaluation(verdict: .unknown, since: dataAt, detail: "not evaluable: \(secret)")
            }
            let verdict = apply(check.missing, to: raw)
            // Details are for reports: most checks pass on most devices, so only failures pay for them.
            let detail =
                verdict == .clear
                ? ""
                : raw == .unknown ? "no data at \(missingPaths(condition, input))" : evidence(condition, input)
            return Evaluation(verdict: verdict, since: dataAt, detail: detail)
        case .notReporting(let after):
            return notReporting(subject, after: after, now: now)
        case .pendingPatches(let after):
            guard let oldest = subject.facts.oldestPendingPatchAt, now.timeIntervalSince(oldest) > after else {
                return Evaluation(verdict: .clear, since: now, detail: "")
            }
            return Evaluation(
                verdict: .holds, since: oldest.addingTimeInterval(after),
                detail: "a patch has waited since \(RFC3339.string(from: oldest))")
        case .duplicateHost:
            let clashes = subject.facts.clashes
            return Evaluation(
                verdict: clashes.isEmpty ? .clear : .holds, since: now,
                detail: clashes.isEmpty ? "" : clashes.description(ofHost: device.hostname))
        case .deprecatedPort:
            guard let port = subject.facts.deprecatedPort else { return Evaluation(verdict: .clear, since: now, detail: "") }
            return Evaluation(verdict: .holds, since: dataAt, detail: "last reached the server on deprecated port \(port)")
        case .pluginFailed:
            let failed = subject.failedPlugins
            return Evaluation(
                verdict: failed.isEmpty ? .clear : .holds, since: dataAt,
                detail: failed.isEmpty ? "" : "failed: " + failed.joined(separator: ", "))
        case .expiringCertificate:
            // The server's own certificates are no device's problem: ServerAudit reports them.
            return Evaluation(verdict: .clear, since: now, detail: "")
        }
    }

    private func notReporting(_ subject: AuditSubject, after: TimeInterval, now: Date) -> Evaluation {
        let device = subject.device
        let last = device.lastSubmissionAt ?? device.acceptedAt ?? device.enrolledAt
        let silent = now.timeIntervalSince(last)
        guard silent > after else { return Evaluation(verdict: .clear, since: now, detail: "") }
        if let linked = subject.facts.linkedLastReportAt, now.timeIntervalSince(linked) <= after,
            silent <= Self.linkedCoverLimit
        {
            return Evaluation(verdict: .clear, since: now, detail: "a linked device reported")
        }
        let since = device.lastSubmissionAt.map { "last report \(RFC3339.string(from: $0))" } ?? "never reported"
        return Evaluation(verdict: .holds, since: last.addingTimeInterval(after), detail: since)
    }

    private func apply(_ policy: Check.MissingPolicy, to verdict: Verdict) -> Verdict {
        guard verdict == .unknown else { return verdict }
        switch policy {
        case .pass: return .clear
        case .fail: return .holds
        case .unknown: return .unknown
        }
    }

    /// The values the condition tested, `path = value`, kept short for a report line; a secret
    /// shows as `[secret]`.
    private func evidence(_ condition: Condition, _ input: some ConditionInput) -> String {
        let matching = condition.matchingItems(in: input)
        if !matching.isEmpty {
            return shortened("matching: " + matching.map(SecretRedaction.text).joined(separator: ", "))
        }
        let parts = Set(condition.paths).sorted { $0.description < $1.description }.map { path in
            switch input.value(at: path) {
            case let value? where SecretValue.isSecret(value): "\(path) = \(SecretValue.placeholder)"
            case .array(let items)?: "\(path): \(items.count) item\(items.count == 1 ? "" : "s")"
            case .object?: "\(path): {...}"
            case let value?: "\(path) = \(value.serializedString)"
            case nil: "\(path) missing"
            }
        }
        return shortened(parts.joined(separator: "; "))
    }

    /// `P is secret` (or `P, Q are secret`) for the secret values among those the condition
    /// reads, nil when there are none.
    private func secretPaths(_ condition: Condition, _ input: some ConditionInput) -> String? {
        let paths = Set(condition.paths).sorted { $0.description < $1.description }.flatMap { path in
            input.value(at: path).map { SecretRedaction.secretPaths(in: $0, at: path.description) } ?? []
        }
        guard !paths.isEmpty else { return nil }
        return paths.joined(separator: ", ") + (paths.count == 1 ? " is secret" : " are secret")
    }

    private func shortened(_ text: String) -> String {
        text.count > 200 ? String(text.prefix(197)) + "..." : text
    }

    private func missingPaths(_ condition: Condition, _ input: some ConditionInput) -> String {
        let paths = Set(condition.paths)
        let missing = paths.filter { input.value(at: $0).map(\.isMissing) ?? true }
        // Every path has data when what is missing sits inside an any_item's items: name those lists.
        return (missing.isEmpty ? paths : missing).map(\.description).sorted().joined(separator: ", ")
    }
}
