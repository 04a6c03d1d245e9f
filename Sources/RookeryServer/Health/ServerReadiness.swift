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

    private let schemaState: @Sendable () async throws -> SchemaState
    private let draining = Locked(false)
    /// The last verdict and when it was read, and the read in progress: checks that arrive while
    /// one reads wait for it, so a slow database is still read once at a time.
    private struct Cache: Sendable {
        var verdict: Verdict?
        var at = Date.distantPast
        var reading: Task<Verdict, Never>?
    }
    private let cache = Locked(Cache())

    /// What the cache holds for a check: a fresh verdict, or the read to wait for.
    private enum Lookup: Sendable {
        case known(Verdict)
        case reading(Task<Verdict, Never>)
    }

    public convenience init(store: any Store) { self.init(schemaState: { try await store.schemaState() }) }

    /// `schemaState`: how the database's schema is read (the store's, in the server).
    init(schemaState: @escaping @Sendable () async throws -> SchemaState) { self.schemaState = schemaState }

    /// From now on every check says no: the process is shutting down.
    public func beginDraining() { draining.withLock { $0 = true } }

    public func check(now: Date = Date()) async -> Verdict {
        if draining.current { return Verdict(ready: false, problem: "the server is shutting down") }
        let schemaState = self.schemaState
        let lookup = cache.withLock { cache -> Lookup in
            if let verdict = cache.verdict, now.timeIntervalSince(cache.at) < Self.cacheSeconds, now >= cache.at {
                return .known(verdict)
            }
            if let reading = cache.reading { return .reading(reading) }
            let reading = Task { await Self.read(schemaState) }
            cache.reading = reading
            return .reading(reading)
        }
        let read: Task<Verdict, Never>
        switch lookup {
        case .known(let verdict): return verdict
        case .reading(let reading): read = reading
        }
        let verdict = await read.value
        cache.withLock { cache in
            if cache.reading == read {
                cache.reading = nil
                cache.verdict = verdict
                cache.at = now
            }
        }
        return verdict
    }

    private static func read(_ schemaState: @Sendable () async throws -> SchemaState) async -> Verdict {
        do {
            switch try await schemaState() {
            case .current: return Verdict(ready: true, problem: nil)
            case .behind(let missing):
                return Verdict(ready: false, problem: "the database lacks migrations \(missing.joined(separator: ", "))")
            case .ahead(let unknown):
                return Verdict(
                    ready: false,
                    problem: "the database has migrations this server does not know (\(unknown.joined(separator: ", "))): a newer server migrated it")
            }
        } catch {
            // Not the error itself: the answer goes to whoever asks, and may name paths or hosts.
            return Verdict(ready: false, problem: "the database does not answer")
        }
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
