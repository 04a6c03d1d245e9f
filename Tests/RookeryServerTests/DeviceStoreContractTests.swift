import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryServer

/// The stores a contract suite runs against: each test runs once per backend, on a real SQLite
/// file and on a database of its own in bin/test's PostgreSQL cluster.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// A fresh, migrated store, and what removes it.
    func make() async throws -> (store: any Store, cleanUp: @Sendable () async -> Void) {
        switch self {
        case .sqlite:
            let sandbox = try Sandbox()
            let store = try SQLiteStore(path: sandbox.path + "/store.sqlite")
            return (store, { withExtendedLifetime(sandbox) {} })
        case .postgres:
            let database = try await PostgresTestDatabase()
            let store = try await PostgresStore(pool: try database.open(maximumConnections: 10))
            return (store, { try? await database.drop() })
        }
    }
}

/// `DeviceStore` as services rely on it, the same on every backend: enrollment and its clash
/// flags (also for clones enrolling at the same moment), look-ups, renames, states, forgetting,
/// and the nonces of signed requests.
@Suite struct DeviceStoreContractTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func device(_ number: Int, hostname: String, machineID: String? = nil) -> Device {
        Device(
            fingerprint: String(format: "%040X", number), publicKey: "key \(number)", hostname: hostname,
            machineID: machineID ?? "machine-\(number)", state: .pending, enrolledAt: start)
    }

    @Test(arguments: StoreBackend.allCases)
    func enrollmentStoresANewKeyAndReturnsAKnownOneUnchanged(_ backend: StoreBackend) async throws {
        let (store, cleanUp) = try await backend.make()
        let laptop = try await store.enroll(Self.device(1, hostname: "laptop"), acceptUnlessFlagged: false)
        #expect(laptop.state == .pending && laptop.flags.isEmpty)
        let again = try await store.enroll(Self.device(1, hostname: "renamed"), acceptUnlessFlagged: true)
        #expect(again == laptop)
        #expect(try await store.device(fingerprint: laptop.fingerprint) == laptop)
        let accepted = try await store.enroll(Self.device(2, hostname: "desk"), acceptUnlessFlagged: true)
        #expect(accepted.state == .accepted && accepted.acceptedAt == Self.start)
        #expect(try await store.deviceCount(in: .pending) == 1)
        #expect(try await store.devices(in: .accepted).map(\.hostname) == ["desk"])
        #expect(try await store.devices(in: nil).map(\.hostname) == ["desk", "laptop"])
        await cleanUp()
    }

    @Test(arguments: StoreBackend.allCases)
    func aClashingHostnameOrMachineIDIsFlaggedAndNotAccepted(_ backend: StoreBackend) async throws {
        let (store, cleanUp) = try await backend.make()
        _ = try await store.enroll(Self.device(1, hostname: "laptop"), acceptUnlessFlagged: true)
        let sameName = try await store.enroll(Self.device(2, hostname: "LAPTOP."), acceptUnlessFlagged: true)
        #expect(sameName.state == .pending)
        #expect(!sameName.flags.isEmpty)
        let clone = try await store.enroll(Self.device(3, hostname: "other", machineID: "machine-1"), acceptUnlessFlagged: true)
        #expect(clone.state == .pending && !clone.flags.isEmpty)
        #expect(try await store.device(fingerprint: clone.fingerprint)?.flags == clone.flags)
        await cleanUp()
    }

    /// Ten clones at once: each sees those before it, so one alone goes unflagged.
    @Test(arguments: StoreBackend.allCases)
    func clonesEnrollingTogetherSeeEachOther(_ backend: StoreBackend) async throws {
        let (store, cleanUp) = try await backend.make()
        let enrolled = try await withThrowingTaskGroup(of: Device.self) { group in
            for number in 1...10 {
                group.addTask { try await store.enroll(Self.device(number, hostname: "clone"), acceptUnlessFlagged: true) }
            }
            return try await group.reduce(into: [Device]()) { $0.append($1) }
        }
        #expect(enrolled.filter(\.flags.isEmpty).count == 1)
        #expect(enrolled.filter { $0.state == .accepted }.count == 1)
        await cleanUp()
    }

    @Test(arguments: StoreBackend.allCases)
    func devicesAreFoundByHostnameFingerprintOrItsPrefix(_ backend: StoreBackend) async throws {
        let (store, cleanUp) = try await backend.make()
        let laptop = try await store.enroll(Self.device(0xABCD_EF12, hostname: "laptop"), acceptUnlessFlagged: false)
        _ = try await store.enroll(Self.device(2, hostname: "desk"), acceptUnlessFlagged: false)
        #expect(try await store.devices(named: "laptop") == [laptop])
        #expect(try await store.devices(named: laptop.fingerprint.lowercased()) == [laptop])
        #expect(try await store.devices(named: String(laptop.fingerprint.prefix(34)).lowercased()) == [laptop])
        #expect(try await store.devices(named: "0000").isEmpty, "a prefix under 8 digits matches nothing")
        #expect(try await store.devices(named: "%").isEmpty)
        // Sorted by the hostname's bytes, whatever the database's locale.
        _ = try await store.enroll(Self.device(3, hostname: "Zeta"), acceptUnlessFlagged: false)
        _ = try await store.enroll(Self.device(4, hostname: "alpha"), acceptUnlessFlagged: false)
        #expect(try await store.devices(in: nil).map(\.hostname) == ["Zeta", "alpha", "desk", "laptop"])
        await cleanUp()
    }

    @Test(arguments: StoreBackend.allCases)
    func renamesTakeAFreeNameHoldATakenOneAndKeepTheNewestTrail(_ backend: StoreBackend) async throws {
        let (store, cleanUp) = try await backend.make()
        let laptop = try await store.enroll(Self.device(1, hostname: "laptop"), acceptUnlessFlagged: true)
        _ = try await store.enroll(Self.device(2, hostname: "desk"), acceptUnlessFlagged: true)
        let pending = try await store.enroll(Self.device(3, hostname: "spare"), acceptUnlessFlagged: false)
        #expect(try await store.rename(fingerprint: pending.fingerprint, to: "x", at: Self.start) == .notAccepted(.pending))

        guard case .held(let held) = try await store.rename(fingerprint: laptop.fingerprint, to: "Desk", at: Self.start) else {
            Issue.record("a taken name was not held")
            return await cleanUp()
        }
        #expect(held.hostname == "laptop" && held.flags.contains(where: Device.isRenameHeldFlag))
        guard case .unchanged(let unchanged) = try await store.rename(fingerprint: laptop.fingerprint, to: "laptop", at: Self.start)
        else {
            Issue.record("asking for its own name changed something")
            return await cleanUp()
        }
        #expect(!unchanged.flags.contains(where: Device.isRenameHeldFlag))
        for step in 1...(DeviceRename.kept + 3) {
            let outcome = try await store.rename(
                fingerprint: laptop.fingerprint, to: "laptop-\(step)", at: Self.start.addingTimeInterval(Double(step)))
            guard case .renamed(let device, _) = outcome else {
                Issue.record("rename \(step): \(outcome)")
                return await cleanUp()
            }
            #expect(device.hostname == "laptop-\(step)")
        }
        let trail = try await store.renames(fingerprint: laptop.fingerprint)
        #expect(trail.count == DeviceRename.kept)
        #expect(trail.first?.newHostname == "laptop-\(DeviceRename.kept + 3)")
        await cleanUp()
    }

    @Test(arguments: StoreBackend.allCases)
    func aForgottenRevokedKeyEnrollingAgainIsFlagged(_ backend: StoreBackend) async throws {
        let (store, cleanUp) = try await backend.make()
        let laptop = try await store.enroll(Self.device(1, hostname: "laptop"), acceptUnlessFlagged: false)
        let acceptedAt = Self.start.addingTimeInterval(60)
        try await store.setState(.accepted, fingerprint: laptop.fingerprint, at: acceptedAt)
        #expect(try await store.device(fingerprint: laptop.fingerprint)?.acceptedAt == acceptedAt)
        try await store.setState(.revoked, fingerprint: laptop.fingerprint, at: acceptedAt)
        try await store.forget(fingerprint: laptop.fingerprint, at: acceptedAt)
        #expect(try await store.device(fingerprint: laptop.fingerprint) == nil)
        let back = try await store.enroll(Self.device(1, hostname: "laptop"), acceptUnlessFlagged: true)
        #expect(back.state == .pending)
        #expect(back.flags.contains { $0.contains("revoked, then forgotten") }, "\(back.flags)")
        await cleanUp()
    }

    @Test(arguments: StoreBackend.allCases)
    func aNonceIsRecordedOnceAndPrunedWhenOld(_ backend: StoreBackend) async throws {
        let (store, cleanUp) = try await backend.make()
        let laptop = try await store.enroll(Self.device(1, hostname: "laptop"), acceptUnlessFlagged: true)
        let nonce = String(repeating: "ab", count: 16)
        #expect(try await store.recordNonce(nonce, seenAt: Self.start, pruneBefore: Self.start.addingTimeInterval(-600)))
        #expect(!(try await store.recordNonce(nonce, seenAt: Self.start, pruneBefore: Self.start.addingTimeInterval(-600))))
        let lookup = try await store.lookUpSigner(fingerprint: laptop.fingerprint, nonce: nonce)
        #expect(lookup.device == laptop && lookup.nonceSeen)
        #expect(!(try await store.lookUpSigner(fingerprint: "none", nonce: "other").nonceSeen))
        // Pruned once it is older than the window: then it counts as new.
        let later = Self.start.addingTimeInterval(3600)
        #expect(try await store.recordNonce(nonce, seenAt: later, pruneBefore: later.addingTimeInterval(-600)))
        await cleanUp()
    }
}
