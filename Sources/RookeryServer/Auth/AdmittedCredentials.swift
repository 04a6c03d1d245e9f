import Crypto
import Foundation
import RookeryCore

/// Credentials that passed their password check a moment ago, so that the same Authorization
/// header at the same endpoint is admitted again without another PBKDF2 run. A remote shell makes
/// two calls per keystroke; tens of milliseconds of password work on each would be felt.
///
/// Only admissions are kept, never refusals: a guesser's every attempt still pays the full check
/// (and counts in `FailureLimiter`). Entries are keyed by an HMAC of the header under a key made
/// when the process starts, so memory holds no password nor anything a password can be tested
/// against offline; they expire after `lifetime`, and there are at most `capacity` of them.
/// Settings are read only at start, so a password changed in them is in force after the restart
/// that empties this too.
final class AdmittedCredentials: Sendable {
    static let lifetime: Duration = .seconds(300)
    static let capacity = 1024

    private struct Entry {
        let decision: EndpointAuthenticator.Decision
        let expires: ContinuousClock.Instant
    }

    private let key = SymmetricKey(size: .bits256)
    private let entries = Locked<[Data: Entry]>([:])

    /// The decision kept for these credentials at `endpoint`, while it lasts.
    func admission(_ endpoint: String, authorization: String, now: ContinuousClock.Instant = .now) -> EndpointAuthenticator.Decision? {
        let id = self.id(endpoint, authorization)
        return entries.withLock { entries in
            guard let entry = entries[id] else { return nil }
            guard entry.expires > now else {
                entries[id] = nil
                return nil
            }
            return entry.decision
        }
    }

    /// Keeps `decision` when it admits; a refusal is never kept.
    func remember(
        _ decision: EndpointAuthenticator.Decision, _ endpoint: String, authorization: String,
        now: ContinuousClock.Instant = .now
    ) {
        guard case .allowed = decision else { return }
        let id = self.id(endpoint, authorization)
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries = entries.filter { $0.value.expires > now } }
            // Still full of live entries: start over rather than grow (the next checks pay PBKDF2).
            if entries.count >= Self.capacity { entries = [:] }
            entries[id] = Entry(decision: decision, expires: now + Self.lifetime)
        }
    }

    var count: Int { entries.withLock { $0.count } }

    private func id(_ endpoint: String, _ authorization: String) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data((endpoint + "\u{0}" + authorization).utf8), using: key))
    }
}
