import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RookeryCore
import Testing

@testable import RookeryServer

/// `endpoint_auth` for download_release: every way in and every way to be turned away, first as
/// decisions, then over HTTP through the router.
@Suite struct EndpointAuthenticationTests {
    // Hashes made here (PasswordHashTests checks the form against passlib's own).
    static let alice = PasswordHash(hashing: "alice-secret", rounds: 1000).description
    static let bob = PasswordHash(hashing: "bob-secret", rounds: 1000).description
    static let dedicated = PasswordHash(hashing: "release-pass", rounds: 1000).description

    static func settings(_ configure: (inout EndpointAuthSettings) -> Void) -> ServerSettings {
        var settings = ServerSettings()
        settings.users = ["alice": alice, "bob": bob]
        settings.groups = ["admins": ["bob"]]
        var auth = EndpointAuthSettings()
        configure(&auth)
        settings.endpointAuth = ["download_release": auth]
        return settings
    }

    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    static func decide(
        _ settings: ServerSettings, peer: String = "198.51.100.7", forwardedFor: String? = nil,
        authorization: String? = nil
    ) throws -> EndpointAuthenticator.Decision {
        try EndpointAuthenticator(settings: settings)
            .decide("download_release", peer: peer, forwardedFor: forwardedFor, authorization: authorization)
    }

    static func isAllowed(_ decision: EndpointAuthenticator.Decision) -> Bool {
        if case .allowed = decision { return true }
        return false
    }

    @Test func anAddressInAnAllowedRangeComesIn() throws {
        let settings = Self.settings { $0.ipRanges = ["10.0.0.0/8", "192.0.2.7"] }
        #expect(Self.isAllowed(try Self.decide(settings, peer: "10.20.30.40")))
        #expect(Self.isAllowed(try Self.decide(settings, peer: "192.0.2.7")))
        #expect(Self.isAllowed(try Self.decide(settings, peer: "::ffff:10.1.2.3")), "IPv4-mapped IPv6 is the IPv4 address")
    }

    @Test func anAddressOutsideTheRangesIsRefusedWithoutCredentials() throws {
        let settings = Self.settings { $0.ipRanges = ["10.0.0.0/8", "192.0.2.7"] }
        #expect(try Self.decide(settings, peer: "11.0.0.1") == .refused(user: nil, reason: "no credentials from 11.0.0.1"))
        #expect(!Self.isAllowed(try Self.decide(settings, peer: "192.0.2.8")))
    }

    @Test func ipv6RangesWork() throws {
        let settings = Self.settings { $0.ipRanges = ["2001:db8:42::/48"] }
        #expect(Self.isAllowed(try Self.decide(settings, peer: "2001:db8:42:ffff::1")))
        #expect(!Self.isAllowed(try Self.decide(settings, peer: "2001:db8:43::1")))
        #expect(!Self.isAllowed(try Self.decide(settings, peer: "10.0.0.1")))
    }

    @Test func aListedUserWithTheRightPasswordComesIn() throws {
        let settings = Self.settings { $0.users = ["alice"] }
        #expect(try Self.decide(settings, authorization: Self.basic("alice", "alice-secret")) == .allowed(by: "user alice"))
        // Bob is a server-wide user, but not allowed here.
        #expect(
            try Self.decide(settings, authorization: Self.basic("bob", "bob-secret"))
                == .refused(user: "bob", reason: EndpointAuthenticator.notAllowed("bob", at: "download_release")))
    }

    @Test func aGroupAdmitsItsMembers() throws {
        let settings = Self.settings { $0.groups = ["admins"] }
        #expect(try Self.decide(settings, authorization: Self.basic("bob", "bob-secret")) == .allowed(by: "user bob"))
        #expect(
            try Self.decide(settings, authorization: Self.basic("alice", "alice-secret"))
                == .refused(user: "alice", reason: EndpointAuthenticator.notAllowed("alice", at: "download_release")))
    }

    @Test func anEmptyGroupLocksEveryoneOutRatherThanOpeningTheEndpoint() throws {
        var settings = Self.settings { $0.groups = ["nobody"] }
        settings.groups["nobody"] = []
        #expect(
            try Self.decide(settings, authorization: Self.basic("alice", "alice-secret"))
                == .refused(user: "alice", reason: EndpointAuthenticator.notAllowed("alice", at: "download_release")))
        #expect(
            try Self.decide(settings, authorization: Self.basic("mallory", "x"))
                == .refused(user: "(unknown user)", reason: "wrong user name or password"), "unknown names stay out of logs")
    }

    @Test func anEndpointPasswordAdmitsItsUserName() throws {
        let settings = Self.settings { $0.passwords = ["installer": Self.dedicated] }
        #expect(
            try Self.decide(settings, authorization: Self.basic("installer", "release-pass"))
                == .allowed(by: "endpoint password of installer"))
        #expect(!Self.isAllowed(try Self.decide(settings, authorization: Self.basic("alice", "release-pass"))))
    }

    @Test func wrongPasswordsAndMissingOrBrokenCredentialsAreRefused() throws {
        let settings = Self.settings { $0.users = ["alice"] }
        #expect(
            try Self.decide(settings, authorization: Self.basic("alice", "alice-secreT"))
                == .refused(user: "alice", reason: "wrong user name or password"))
        #expect(
            try Self.decide(settings, authorization: Self.basic("mallory", "alice-secret"))
                == .refused(user: "(unknown user)", reason: "wrong user name or password"))
        for header in [nil, "Bearer abc", "Basic !!!", "Basic " + Data("no-colon".utf8).base64EncodedString()] {
            #expect(
                try Self.decide(settings, authorization: header) == .refused(user: nil, reason: "no credentials from 198.51.100.7"),
                "\(header ?? "none")")
        }
    }

    /// The log tells the admin what to change; the reason names the setting, and only users of
    /// `users` get it (a name typed wrong is still "wrong user name or password").
    @Test func aServerWideUserNotListedForTheEndpointIsToldHowToAllowThem() throws {
        let settings = Self.settings { $0.users = ["bob"] }
        let reason = EndpointAuthenticator.notAllowed("alice", at: "download_release")
        #expect(reason.contains("endpoint_auth.download_release.users") && reason.contains("restart"), "\(reason)")
        // Right or wrong, alice's password is not what refuses her.
        for password in ["alice-secret", "guess"] {
            #expect(try Self.decide(settings, authorization: Self.basic("alice", password)) == .refused(user: "alice", reason: reason))
        }
        #expect(
            try Self.decide(settings, authorization: Self.basic("bob", "guess"))
                == .refused(user: "bob", reason: "wrong user name or password"))
        #expect(
            try Self.decide(settings, authorization: Self.basic("alicee", "alice-secret"))
                == .refused(user: "(unknown user)", reason: "wrong user name or password"))
    }

    @Test func forwardedAddressesAreBelievedOnlyFromTrustedProxies() throws {
        var settings = Self.settings { $0.ipRanges = ["10.0.0.0/8"] }
        // Not a trusted proxy: its X-Forwarded-For is ignored.
        #expect(!Self.isAllowed(try Self.decide(settings, peer: "203.0.113.5", forwardedFor: "10.1.1.1")))
        settings.trustedProxies = ["203.0.113.5"]
        #expect(Self.isAllowed(try Self.decide(settings, peer: "203.0.113.5", forwardedFor: "10.1.1.1")))
        // The client's own claim on the far left does not count past an untrusted hop.
        #expect(!Self.isAllowed(try Self.decide(settings, peer: "203.0.113.5", forwardedFor: "10.1.1.1, 198.51.100.9")))
        // Two proxies in a row, IPv6 on the way; garbage leaves no address to judge (ForwardedForTests).
        settings.trustedProxies = ["203.0.113.5", "2001:db8::/32"]
        #expect(Self.isAllowed(try Self.decide(settings, peer: "203.0.113.5", forwardedFor: "10.9.9.9, 2001:db8::7")))
        #expect(!Self.isAllowed(try Self.decide(settings, peer: "203.0.113.5", forwardedFor: "10.9.9.9, not-an-address")))
    }

    @Test func ipv6FailuresCountPerSlash64() {
        #expect(FailureLimiter.key(for: "2001:db8:1:2:aaaa::1") == "2001:0db8:0001:0002::/64")
        #expect(FailureLimiter.key(for: "2001:db8:1:2:bbbb::9") == FailureLimiter.key(for: "2001:db8:1:2::1"))
        #expect(FailureLimiter.key(for: "192.0.2.7") == "192.0.2.7")
    }

    @Test func misspeltSettingsAreRefusedRatherThanLeavingTheEndpointOpen() throws {
        let sandbox = try Sandbox()
        try sandbox.write("endpoint_auth:\n  download_release:\n    ipranges: [10.0.0.0/8]\n", to: "typo.yml")
        let typo = sandbox.path + "/typo.yml"
        #expect(throws: SettingsError.self) { try SettingsFile.load(ServerSettings.self, from: typo) }
        try sandbox.write("server_auth:\n  download_release:\n    ipranges: [10.0.0.0/8]\n", to: "old.yml")
        let penguin = sandbox.path + "/old.yml"
        #expect(throws: SettingsError.self) { try SettingsFile.load(ServerSettings.self, from: penguin) }
    }

    @Test func aMandatoryEndpointWithNothingConfiguredStopsTheServer() throws {
        let empty = try EndpointAuthenticator(settings: Self.settings { $0.mandatory = true })
        #expect(throws: SettingsError.self) { try empty.checkMandatoryEndpoints() }
        let configured = try EndpointAuthenticator(
            settings: Self.settings {
                $0.mandatory = true
                $0.users = ["alice"]
            })
        try configured.checkMandatoryEndpoints()
    }

    @Test func settingsThatCannotWorkAreRefusedWhenLoaded() {
        func refusal(_ settings: ServerSettings) -> String {
            do {
                _ = try EndpointAuthenticator(settings: settings)
                return "accepted"
            } catch { return "\(error)" }
        }
        #expect(refusal(Self.settings { $0.users = ["carol"] }).contains("no user carol"))
        #expect(refusal(Self.settings { $0.groups = ["ops"] }).contains("no group ops"))
        var unknownMember = ServerSettings()
        unknownMember.users = ["alice": Self.alice]
        unknownMember.groups = ["ops": ["alice", "dave"]]
        #expect(refusal(unknownMember).contains("groups.ops: no user dave"))
        var badHash = Self.settings { $0.users = ["alice"] }
        badHash.users["alice"] = "$1$md5$nope"
        #expect(throws: SettingsError.self) { try EndpointAuthenticator(settings: badHash) }
        #expect(throws: SettingsError.self) { try EndpointAuthenticator(settings: Self.settings { $0.ipRanges = ["10.0.0.0/33"] }) }
        var unknownEndpoint = ServerSettings()
        unknownEndpoint.endpointAuth = ["submit": EndpointAuthSettings()]
        #expect(throws: SettingsError.self) { try EndpointAuthenticator(settings: unknownEndpoint) }
    }

    // MARK: - Over HTTP

    @Test func refusalsAre401WithWWWAuthenticateAndRepeatedFailuresAreThrottled() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox) { settings in
            settings.releaseDownload = true
            settings.users = ["alice": Self.alice]
            var auth = EndpointAuthSettings()
            auth.users = ["alice"]
            settings.endpointAuth = ["download_release": auth]
        }
        let app = try buildApplication(context: context, logger: quietLogger)
        try await app.test(.router) { client in
            func download(_ authorization: String?) async throws -> TestResponse {
                var headers = HTTPFields()
                if let authorization { headers[.authorization] = authorization }
                return try await client.execute(uri: "/rookery/v1/download_release", method: .get, headers: headers)
            }
            let missing = try await download(nil)
            #expect(missing.status == .unauthorized)
            #expect(missing.headers[.wwwAuthenticate]?.hasPrefix("Basic realm=") == true)
            // The right password passes authentication; no release is published yet, hence 404.
            #expect(try await download(Self.basic("alice", "alice-secret")).status == .notFound)
            for _ in 0..<10 { #expect(try await download(Self.basic("alice", "guess")).status == .unauthorized) }
            // Ten wrong passwords from this address (the first try without any does not count):
            // even the right password waits now.
            #expect(try await download(Self.basic("alice", "alice-secret")).status == .tooManyRequests)
        }
    }

    /// The log says a user of `users` is not allowed here; the answer must not, or it would tell
    /// a guesser which names exist: the same status and body as a wrong password or an unknown name.
    @Test func aUserNotAllowedHereGetsTheAnswerOfAWrongPassword() async throws {
        let sandbox = try Sandbox()
        let context = try await makeServerContext(sandbox) { settings in
            settings.releaseDownload = true
            settings.users = ["alice": Self.alice, "bob": Self.bob]
            var auth = EndpointAuthSettings()
            auth.users = ["alice"]
            settings.endpointAuth = ["download_release": auth]
        }
        let app = try buildApplication(context: context, logger: quietLogger)
        try await app.test(.router) { client in
            func download(_ user: String, _ password: String) async throws -> (HTTPResponse.Status, String) {
                let response = try await client.execute(
                    uri: "/rookery/v1/download_release", method: .get,
                    headers: [.authorization: Self.basic(user, password)])
                return (response.status, String(buffer: response.body))
            }
            let notAllowed = try await download("bob", "bob-secret")
            #expect(notAllowed.0 == .unauthorized)
            #expect(try await download("alice", "guess") == notAllowed)
            #expect(try await download("mallory", "bob-secret") == notAllowed)
        }
    }
}
