import Foundation
import RookeryCore

/// The expiring-certificate check over the server's certificate files: a finding for each file
/// that expires within `after`, has expired, or cannot be read (a server that cannot load its
/// certificate does not start, so that is as urgent as an expiry).
struct ExpiringCertificateCheck {
    let check: Check
    let after: TimeInterval

    func findings(_ files: [ConfiguredCertificate], now: Date) -> [ServerFinding] {
        files.compactMap { finding($0, now: now) }
    }

    private func finding(_ file: ConfiguredCertificate, now: Date) -> ServerFinding? {
        let soonest: CertificateInfo
        do {
            // read never returns none.
            guard let first = CertificateInfo.soonestToExpire(try CertificateInfo.read(pemFile: file.resolvedPath)) else { return nil }
            soonest = first
        } catch {
            return finding(file, state: "unreadable", file.describe(unreadable: "\(error)"))
        }
        guard soonest.notValidAfter.timeIntervalSince(now) <= after else { return nil }
        let when = AuditReport.humanTime(soonest.notValidAfter)
        let left = soonest.daysLeft(now: now)
        // daysLeft rounds down, so the first day after the expiry is -1: zero whole days ago.
        let what =
            soonest.notValidAfter > now
            ? "expires \(when) (in \(Self.days(left)))"
            : "expired \(when) (\(Self.days(max(0, -left - 1))) ago)"
        // The expiry is part of the key: a renewed certificate that is soon due again is a new finding.
        return finding(file, state: RFC3339.string(from: soonest.notValidAfter), file.describe(soonest, what))
    }

    private func finding(_ file: ConfiguredCertificate, state: String, _ detail: String) -> ServerFinding {
        // Subjects and read errors come from files that may hold anything; reports go to terminals.
        ServerFinding(
            check: check, key: [check.name, file.resolvedPath, state].joined(separator: "|"),
            detail: CheckEvaluator.printable(detail))
    }

    /// "less than a day", "1 day", "9 days".
    static func days(_ count: Int) -> String {
        count == 0 ? "less than a day" : count == 1 ? "1 day" : "\(count) days"
    }
}
