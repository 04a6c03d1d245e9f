import Foundation
import RookeryCore

/// Whether this server process should be sent requests, for load balancers' `ready` checks: the
/// database answers and its schema is the one this binary knows, and the process is not shutting
/// down. Each check is one small read; an answer is kept for `cacheSeconds`, so a flood of
/// unauthenticated checks costs the database at most one read per second.
public final class ServerReadiness: Sendable {
    public static let cacheSeconds: TimeInterval = 1

    public struct Verdict: Sendable, Equatable {
        public let ready: Bool
        /// Why not, for the answer and the log.
        public let problem: String?
    }

    private let store: any Store
    private let draining = Locked(false)
    private let cached = Locked<(verdict: Verdict, at: Date)?>(nil)

    public init(store: any Store) { self.store = store }

    /// From now on every check says no: the process is shutting down.
    public func beginDraining() { draining.withLock { $0 = true } }

    public func check(now: Date = Date()) async -> Verdict {
        if draining.current { return Verdict(ready: false, problem: "the server is shutting down") }
        if let cached = cached.current, now.timeIntervalSince(cached.at) < Self.cacheSeconds, now >= cached.at {
            return cached.verdict
        }
        let verdict: Verdict
        do {
            switch try await store.schemaState() {
            case .current: verdict = Verdict(ready: true, problem: nil)
            case .behind(let missing):
                verdict = Verdict(ready: false, problem: "the database lacks migrations \(missing.joined(separator: ", "))")
            case .ahead(let unknown):
                verdict = Verdict(
                    ready: false,
                    problem: "the database has migrations this server does not know (\(unknown.joined(separator: ", "))): a newer server migrated it")
            }
        } catch {
            // Not the error itself: the answer goes to whoever asks, and may name paths or hosts.
            verdict = Verdict(ready: false, problem: "the database does not answer")
        }
        cached.withLock { $0 = (verdict, now) }
        return verdict
    }
}

/// Where a database's schema stands against the migrations this binary knows.
public enum SchemaState: Sendable, Equatable {
    case current
    /// Migrations this binary knows that the database has not had.
    case behind(missing: [String])
    /// Migrations the database has had that this binary does not know.
    case ahead(unknown: [String])
}
