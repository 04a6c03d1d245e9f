import Foundation
import HTTPTypes
import HummingbirdTesting
import RookeryCore
import Testing

@testable import RookeryServer

/// What one HTTP Basic attempt costs: the same HMAC work for every name at an endpoint, nothing
/// for credentials over the length limits, and a count reserved before the check so that
/// parallel guesses all count.
@Suite struct PasswordCostTests {
    static let alice = PasswordHash(hashing: "alice-secret", rounds: 1000)
    static let bob = PasswordHash(hashing: "bob-secret", rounds: 3000)
    static let carolServerWide = PasswordHash(hashing: "carol-secret", rounds: 1500)
    static let carolEndpoint = PasswordHash(hashing: "carol-endpoint", rounds: 500)
    static let installer = PasswordHash(hashing: "release-pass", rounds: 2000)
    static let dave = PasswordHash(hashing: "dave-secret", rounds: 4000)

    /// Alice and bob listed, carol listed and with an endpoint password, installer with an
    /// endpoint password only, dave a server-wide user not listed here.
    static func authenticator() throws -> EndpointAuthenticator {
        var settings = ServerSettings()
        settings.users = [
            "alice": alice.description, "bob": bob.description,
            "carol": carolServerWide.description, "dave": dave.description
        ]
        var auth = EndpointAuthSettings()
        auth.users = ["alice", "bob", "carol"]
        auth.passwords = ["installer": installer.description, "carol": carolEndpoint.description]
        settings.endpointAuth = ["download_release": auth]
        return try EndpointAuthenticator(settings: settings)
    }

    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    static func judge(_ authenticator: EndpointAuthenticator, _ user: String, _ password: String)
        -> (decision: EndpointAuthenticator.Decision, hmacRuns: Int)
    {
        authenticator.judge(
            "download_release", peer: "198.51.100.7", forwardedFor: nil,
            authorization: basic(user, password))
    }

    @Test func everyAttemptCostsTheSameWorkWhateverTheNameAndItsHashes() throws {
        let authenticator = try Self.authenticator()
        // The dearest name: bob's 3000 rounds (carol's two hashes together are 2000; dave's 4000
        // do not count, since dave is not listed here and his hash is never checked).
        let attempts: [(String, String, Bool)] = [
            ("alice", "wrong", false), ("alice", "alice-secret", true),
            ("bob", "wrong", false), ("bob", "bob-secret", true),
            ("carol", "wrong", false), ("carol", "carol-secret", true), ("carol", "carol-endpoint", true),
            ("installer", "wrong", false), ("installer", "release-pass", true),
            ("dave", "dave-secret", false), ("mallory", "anything", false), ("", "", false)
        ]
        for (user, password, admitted) in attempts {
            let (decision, runs) = Self.judge(authenticator, user, password)
            #expect(runs == 3000, "\(user)/\(password)")
            if case .allowed = decision { #expect(admitted, "\(user)/\(password)") } else { #expect(!admitted, "\(user)/\(password)") }
        }
    }

    @Test func anEndpointWithoutPasswordsCostsNothing() throws {
        var settings = ServerSettings()
        var auth = EndpointAuthSettings()
        auth.ipRanges = ["10.0.0.0/8"]
        settings.endpointAuth = ["download_release": auth]
        let (decision, runs) = Self.judge(try EndpointAuthenticator(settings: settings), "mallory", "guess")
        #expect(decision == .refused(user: "(unknown user)", reason: "wrong user name or password"))
        #expect(runs == 0)
    }

    @Test func credentialsOverTheLengthLimitsAreRefusedBeforeAnyHashing() throws {
        let longest = String(repeating: "p", count: PasswordHash.maxPasswordBytes)
        let tooLong = longest + "p"
        // Both are the real passwords of their hashes; only the limit tells them apart.
        var settings = ServerSettings()
        settings.users = [
            "long": PasswordHash(hashing: longest, rounds: 100).description,
            "toolong": PasswordHash(hashing: tooLong, rounds: 100).description
        ]
        var auth = EndpointAuthSettings()
        auth.users = ["long", "toolong"]
        settings.endpointAuth = ["download_release": auth]
        let authenticator = try EndpointAuthenticator(settings: settings)

        #expect(Self.judge(authenticator, "long", longest) == (.allowed(by: "user long"), 100))
        let refused = Self.judge(authenticator, "toolong", tooLong)
        #expect(refused.decision == .refused(user: "toolong", reason: "user name or password longer than allowed"))
        #expect(refused.hmacRuns == 0)
        // Multi-byte characters count in bytes: 513 two-byte characters are 1026 bytes.
        #expect(Self.judge(authenticator, "long", String(repeating: "é", count: 513)).hmacRuns == 0)
        let longName = String(repeating: "u", count: EndpointAuthenticator.maxUserNameBytes + 1)
        #expect(Self.judge(authenticator, longName, "x") == (.refused(user: "(unknown user)", reason: "user name or password longer than allowed"), 0))
        #expect(Self.judge(authenticator, String(longName.dropLast()), "x").hmacRuns == 100)
    }

    @Test func aConfiguredNameOverTheLengthLimitIsASettingsError() {
        var settings = ServerSettings()
        let name = String(repeating: "n", count: EndpointAuthenticator.maxUserNameBytes + 1)
        settings.users = [name: Self.alice.description]
        #expect(throws: SettingsError.self) { try EndpointAuthenticator(settings: settings) }
    }

    @Test func theHMACIsKeyedOnceAndStillComputesPasslibsPBKDF2() throws {
        // RFC 7914 section 11: PBKDF2-HMAC-SHA256, P "passwd", S "salt", c 1 (first 32 bytes).
        var hmac = KeyedHMAC(password: Array("passwd".utf8))
        #expect(
            hmac.pbkdf2(salt: Array("salt".utf8), rounds: 1).map { String(format: "%02x", $0) }.joined()
                == "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc")
        // The same keyed state serves a second derivation, as one attempt's several hashes need.
        #expect(hmac.pbkdf2(salt: Array("salt".utf8), rounds: 1).first == 0x55)
        #expect(hmac.runs == 2)
        // And passlib's own hash, 29000 rounds, verifies (PasswordHashTests has more).
        #expect(try #require(PasswordHash(PasswordHashTests.passlibDefault)).matches("hunter2"))
    }
}

/// The failure count is reserved before the check runs.
@Suite struct FailureReservationTests {
    @Test func parallelReservationsStopAtTheLimit() async throws {
        let limiter = FailureLimiter(limit: 10, window: 300)
        let granted = try await Self.granted(200, "192.0.2.1", at: [limiter])
        #expect(granted == 10)
        #expect(limiter.isBlocked("192.0.2.1"))
        #expect(!limiter.isBlocked("192.0.2.2"), "other addresses are not affected")
    }

    @Test func aSuccessGivesItsReservationBack() async throws {
        let limiter = FailureLimiter(limit: 3, window: 300)
        #expect(try await limiter.reserve("a") != nil, "a failure: kept")
        let returned = try #require(try await limiter.reserve("a"))
        limiter.giveBack(returned)
        #expect(try await limiter.reserve("a") != nil)
        #expect(try await limiter.reserve("a") != nil)
        #expect(try await limiter.reserve("a") == nil, "three counted: the one given back no longer counts")
    }

    @Test func countsExpireWithTheWindow() async throws {
        let limiter = FailureLimiter(limit: 2, window: 300)
        let start = Date()
        #expect(try await limiter.reserve("a", now: start) != nil)
        #expect(try await limiter.reserve("a", now: start) != nil)
        #expect(try await limiter.reserve("a", now: start.addingTimeInterval(299)) == nil)
        #expect(try await limiter.reserve("a", now: start.addingTimeInterval(301)) != nil)
    }

    /// Two server processes on one database (a limiter each, one store; SQLite or PostgreSQL as
    /// the run says): failures split between them stop at the one limit, an attempt whose check
    /// succeeded counts nowhere, and the database's count passes with its window.
    @Test func processesSharingADatabaseCountTheSameFailures() async throws {
        let sandbox = try Sandbox()
        let store = try await makeServerContext(sandbox).store
        let first = FailureLimiter(limit: 4, window: 300, shared: store)
        let second = FailureLimiter(limit: 4, window: 300, shared: store)
        func fail(_ limiter: FailureLimiter) async throws {
            await limiter.recordFailure(try #require(try await limiter.reserve("a")))
        }
        try await fail(first)
        try await fail(second)
        first.giveBack(try #require(try await first.reserve("a")))
        try await fail(second)
        try await fail(first)
        // Two failures in each process's own count: only the database's four refuse.
        #expect(try await second.reserve("a") == nil, "a fifth, whichever process it reaches")
        #expect(try await first.reserve("a") == nil)
        #expect(try await second.reserve("b") != nil, "other addresses are not affected")
        let later = Date().addingTimeInterval(301)
        #expect(try await second.reserve("a", now: later) != nil)
    }

    /// A success costs the database nothing: the count is read before the check, and written
    /// only when it failed.
    @Test func aSuccessWritesNothing() async throws {
        let sandbox = try Sandbox()
        let store = try await makeServerContext(sandbox).store
        let limiter = FailureLimiter(limit: 4, window: 300, shared: store)
        for _ in 0..<10 { limiter.giveBack(try #require(try await limiter.reserve("a"))) }
        #expect(try await store.recentGuesses(key: "a", window: 300, now: Date()) == 0)
    }

    /// `count` reservations of `key` at once, spread over `limiters`; how many were granted.
    static func granted(_ count: Int, _ key: String, at limiters: [FailureLimiter]) async throws -> Int {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<count {
                group.addTask { try await limiters[index % limiters.count].reserve(key) != nil }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
    }

    /// Over real HTTP, through a pool of parallel connections: parallel wrong guesses, then the
    /// right password; the limit is 10.
    @Test func parallelGuessesOverHTTPAllCount() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox) { settings in
            settings.releaseDownload = true
            settings.users = ["alice": PasswordCostTests.alice.description]
            var auth = EndpointAuthSettings()
            auth.users = ["alice"]
            settings.endpointAuth = ["download_release": auth]
        }
        let app = try buildApplication(context: context, logger: quietLogger)
        try await app.test(.ahc(.http)) { client async throws in
            @Sendable func download(_ password: String) async throws -> Int {
                let headers: HTTPFields = [.authorization: PasswordCostTests.basic("alice", password)]
                return try await Int(client.execute(uri: "/rookery/v1/download_release", method: .get, headers: headers).status.code)
            }
            // A right password passes (no release yet: 404) and gives its count back, again and again.
            for _ in 0..<12 { #expect(try await download("alice-secret") == 404) }
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<30 { group.addTask { try await download("guess") } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 401 }.count == 10)
            #expect(statuses.filter { $0 == 429 }.count == 20)
            #expect(try await download("alice-secret") == 429)
        }
    }

    @Test func overlongCredentialsCountAsFailures() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox) { settings in
            settings.releaseDownload = true
            settings.users = ["alice": PasswordCostTests.alice.description]
            var auth = EndpointAuthSettings()
            auth.users = ["alice"]
            settings.endpointAuth = ["download_release": auth]
        }
        let app = try buildApplication(context: context, logger: quietLogger)
        let overlong = String(repeating: "x", count: PasswordHash.maxPasswordBytes + 1)
        try await app.test(.live) { client async throws in
            func download(_ password: String) async throws -> HTTPResponse.Status {
                let headers: HTTPFields = [.authorization: PasswordCostTests.basic("alice", password)]
                return try await client.execute(uri: "/rookery/v1/download_release", method: .get, headers: headers).status
            }
            for _ in 0..<10 { #expect(try await download(overlong) == .unauthorized) }
            #expect(try await download("alice-secret") == .tooManyRequests)
        }
    }
}
