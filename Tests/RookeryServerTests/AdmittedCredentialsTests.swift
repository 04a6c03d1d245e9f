import Foundation
import RookeryCore
import Testing

@testable import RookeryServer

/// Credentials admitted a moment ago skip the password check; refusals, address admissions,
/// other endpoints and expired entries do not.
@Suite struct AdmittedCredentialsTests {
    typealias Auth = EndpointAuthenticationTests

    @Test func admittedCredentialsAreKeptAndRefusalsAreNot() async throws {
        let authenticator = try EndpointAuthenticator(settings: Auth.settings { $0.users = ["alice"] })
        let right = Auth.basic("alice", "alice-secret")
        let wrong = Auth.basic("alice", "not-it")
        let first = try await authenticator.decideOffTheEventLoop(
            "download_release", peer: "198.51.100.7", forwardedFor: nil, authorization: right)
        #expect(first == .allowed(by: "user alice"))
        #expect(authenticator.admitted.admission("download_release", authorization: right) == first)
        // Kept for this endpoint only.
        #expect(authenticator.admitted.admission("pipe_create", authorization: right) == nil)
        let refused = try await authenticator.decideOffTheEventLoop(
            "download_release", peer: "198.51.100.7", forwardedFor: nil, authorization: wrong)
        #expect(!Auth.isAllowed(refused))
        #expect(authenticator.admitted.admission("download_release", authorization: wrong) == nil)
        #expect(authenticator.admitted.count == 1)
    }

    @Test func anAddressAdmissionKeepsNoCredentials() async throws {
        let authenticator = try EndpointAuthenticator(settings: Auth.settings { $0.ipRanges = ["198.51.100.0/24"] })
        let any = Auth.basic("mallory", "anything")
        let decision = try await authenticator.decideOffTheEventLoop(
            "download_release", peer: "198.51.100.7", forwardedFor: nil, authorization: any)
        #expect(Auth.isAllowed(decision))
        // From another address the same header must be checked (and refused), not remembered.
        #expect(authenticator.admitted.admission("download_release", authorization: any) == nil)
        let elsewhere = try await authenticator.decideOffTheEventLoop(
            "download_release", peer: "203.0.113.9", forwardedFor: nil, authorization: any)
        #expect(!Auth.isAllowed(elsewhere))
    }

    @Test func entriesExpireAndTheTableIsBounded() {
        let admitted = AdmittedCredentials()
        let now = ContinuousClock.now
        admitted.remember(.allowed(by: "user alice"), "pipe_create", authorization: "Basic a", now: now)
        #expect(admitted.admission("pipe_create", authorization: "Basic a", now: now + .seconds(299)) != nil)
        #expect(admitted.admission("pipe_create", authorization: "Basic a", now: now + .seconds(301)) == nil)
        admitted.remember(.refused(user: "x", reason: "wrong"), "pipe_create", authorization: "Basic b", now: now)
        #expect(admitted.admission("pipe_create", authorization: "Basic b", now: now) == nil)
        for index in 0..<(AdmittedCredentials.capacity + 10) {
            admitted.remember(.allowed(by: "user u\(index)"), "pipe_create", authorization: "Basic \(index)", now: now)
        }
        #expect(admitted.count <= AdmittedCredentials.capacity)
    }
}
