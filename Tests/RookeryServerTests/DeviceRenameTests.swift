import Foundation
import Testing

@testable import RookeryServer

/// `Store.rename` on a real SQLite file: what a held rename leaves, and how long the trail gets.
@Suite struct DeviceRenameTests {
    let sandbox: Sandbox
    let store: any Store
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    init() async throws {
        sandbox = try Sandbox()
        store = try await makeServerContext(sandbox).store
    }

    func enrolled(_ letter: Character, host: String, accepted: Bool = true) async throws -> Device {
        let device = try await store.enroll(
            Device(
                fingerprint: String(repeating: letter, count: 40), publicKey: "k", hostname: host,
                machineID: "machine-\(host)", state: .pending, enrolledAt: now),
            acceptUnlessFlagged: false)
        if accepted { try await store.setState(.accepted, fingerprint: device.fingerprint, at: now) }
        return device
    }

    @Test func aHeldRenameIsFlaggedOnceAndClearedWhenARenameGoesThrough() async throws {
        let laptop = try await enrolled("A", host: "laptop")
        let desk = try await enrolled("B", host: "desk")

        // Asked twice for a name the other key holds: one flag, the newest ask's.
        _ = try await store.rename(fingerprint: laptop.fingerprint, to: "DESK", at: now)
        guard case .held(let held) = try await store.rename(fingerprint: laptop.fingerprint, to: "desk.", at: now) else {
            Issue.record("a name another key holds was not held")
            return
        }
        #expect(held.hostname == "laptop")
        #expect(
            held.flags == [
                Device.renameHeldFlag(
                    to: "desk.", clashes: ["hostname desk. is also used, written desk, by key \(desk.fingerprint)"])
            ])
        #expect(try await store.device(fingerprint: laptop.fingerprint) == held)

        // Asked for the name it has, it asks for nothing more: the flag goes, the trail stays empty.
        guard case .unchanged(let kept) = try await store.rename(fingerprint: laptop.fingerprint, to: "laptop", at: now) else {
            Issue.record("asking for its own name changed more than the flag")
            return
        }
        #expect(kept.hostname == "laptop" && kept.flags.isEmpty)
        #expect(try await store.device(fingerprint: laptop.fingerprint) == kept)
        #expect(try await store.renames(fingerprint: laptop.fingerprint).isEmpty)
        _ = try await store.rename(fingerprint: laptop.fingerprint, to: "desk", at: now)

        guard case .renamed(let renamed, let rename) = try await store.rename(fingerprint: laptop.fingerprint, to: "laptop-2", at: now) else {
            Issue.record("a free name was not taken")
            return
        }
        #expect(renamed.hostname == "laptop-2" && renamed.flags.isEmpty)
        #expect(rename == DeviceRename(fingerprint: laptop.fingerprint, oldHostname: "laptop", newHostname: "laptop-2", renamedAt: now))
        #expect(try await store.renames(fingerprint: laptop.fingerprint) == [rename])
        #expect(try await store.device(fingerprint: desk.fingerprint)?.hostname == "desk")
    }

    @Test func theTrailKeepsTheNewestRenames() async throws {
        let device = try await enrolled("C", host: "name-0")
        for step in 1...(DeviceRename.kept + 5) {
            _ = try await store.rename(fingerprint: device.fingerprint, to: "name-\(step)", at: now)
        }
        let trail = try await store.renames(fingerprint: device.fingerprint)
        #expect(trail.count == DeviceRename.kept)
        #expect(trail.first?.newHostname == "name-\(DeviceRename.kept + 5)")
        #expect(trail.last?.oldHostname == "name-5")
    }

    @Test func aDeviceThatIsNotAcceptedKeepsItsName() async throws {
        let pending = try await enrolled("D", host: "pending-one", accepted: false)
        #expect(try await store.rename(fingerprint: pending.fingerprint, to: "other", at: now) == .notAccepted(.pending))
        #expect(try await store.rename(fingerprint: String(repeating: "E", count: 40), to: "other", at: now) == .notAccepted(nil))
        #expect(try await store.device(fingerprint: pending.fingerprint)?.hostname == "pending-one")
        #expect(try await store.renames(fingerprint: pending.fingerprint).isEmpty)
    }
}
