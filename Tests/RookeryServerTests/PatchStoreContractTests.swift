import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryServer

/// `PatchStore` as the update and patch services rely on it, the same on every backend: one
/// pending patch per target and device, handed out only to an accepted device, finished once.
@Suite struct PatchStoreContractTests {
    static let start = DeviceStoreContractTests.start

    static func patch(_ device: Device, target: String = "client/commands/x.sh") -> Patch {
        Patch(
            fingerprint: device.fingerprint, target: target, action: .write, mode: 0o755,
            content: Data([0, 1, 2, 255]), createdAt: start)
    }

    static func acceptedDevice(in store: any Store, number: Int = 1) async throws -> Device {
        try await store.enroll(DeviceStoreContractTests.device(number, hostname: "host-\(number)"), acceptUnlessFlagged: true)
    }

    @Test(arguments: StoreBackend.allCases)
    func onePendingPatchPerTargetAndDevice(_ backend: StoreBackend) async throws {
        let (store, cleanUp) = try await backend.make()
        let device = try await Self.acceptedDevice(in: store)
        let queued = try await store.queuePatch(Self.patch(device))
        #expect(queued.id > 0)
        await #expect(throws: StoreError.pendingPatchExists(target: "client/commands/x.sh")) {
            try await store.queuePatch(Self.patch(device))
        }
        let other = try await store.queuePatch(Self.patch(device, target: "client/plugins/y.sh"))
        #expect(other.id > queued.id)
        let pending = try await store.patches(fingerprint: device.fingerprint, includeFinished: false)
        #expect(pending.map(\.id) == [queued.id, other.id])
        #expect(pending.first?.content == Data([0, 1, 2, 255]) && pending.first?.mode == 0o755)
        await cleanUp()
    }

    @Test(arguments: StoreBackend.allCases)
    func anUpdateRequestRecordsTheReleaseAndHandsOutPatchesOnlyToAnAcceptedDevice(_ backend: StoreBackend) async throws {
        let (store, cleanUp) = try await backend.make()
        let device = try await Self.acceptedDevice(in: store)
        let queued = try await store.queuePatch(Self.patch(device))
        #expect(try await store.recordUpdateRequest(fingerprint: device.fingerprint, release: 7)?.map(\.id) == [queued.id])
        #expect(try await store.device(fingerprint: device.fingerprint)?.clientRelease == 7)
        try await store.setState(.revoked, fingerprint: device.fingerprint, at: Self.start)
        #expect(try await store.recordUpdateRequest(fingerprint: device.fingerprint, release: 8) == nil)
        #expect(try await store.device(fingerprint: device.fingerprint)?.clientRelease == 7)
        #expect(try await store.recordUpdateRequest(fingerprint: "unknown", release: 1) == nil)
        await cleanUp()
    }

    @Test(arguments: StoreBackend.allCases)
    func aPatchIsFinishedOnceByItsOwnDeviceAndTargetThenTheTargetIsFree(_ backend: StoreBackend) async throws {
        let (store, cleanUp) = try await backend.make()
        let device = try await Self.acceptedDevice(in: store)
        let otherDevice = try await Self.acceptedDevice(in: store, number: 2)
        let queued = try await store.queuePatch(Self.patch(device))
        func finish(_ fingerprint: String, _ target: String, byAcceptedDevice: Bool = true) async throws -> Bool {
            try await store.finishPatch(
                id: queued.id, fingerprint: fingerprint, target: target, state: .applied, message: "done",
                at: Self.start.addingTimeInterval(5), byAcceptedDevice: byAcceptedDevice)
        }
        #expect(!(try await finish(otherDevice.fingerprint, queued.target)))
        #expect(!(try await finish(device.fingerprint, "client/other")))
        #expect(try await finish(device.fingerprint, queued.target))
        #expect(!(try await finish(device.fingerprint, queued.target)), "finished once")
        #expect(try await store.finishedPatchCount(fingerprint: device.fingerprint) == 1)
        let all = try await store.patches(fingerprint: device.fingerprint, includeFinished: true)
        #expect(all.map(\.state) == [.applied] && all.first?.message == "done")
        #expect(all.first?.finishedAt == Self.start.addingTimeInterval(5))
        #expect(try await store.patches(fingerprint: device.fingerprint, includeFinished: false).isEmpty)
        _ = try await store.queuePatch(Self.patch(device))

        // A device revoked meanwhile cannot acknowledge; an admin's cancel still works.
        let second = try await store.queuePatch(Self.patch(otherDevice))
        try await store.setState(.revoked, fingerprint: otherDevice.fingerprint, at: Self.start)
        let byDevice = try await store.finishPatch(
            id: second.id, fingerprint: otherDevice.fingerprint, target: second.target, state: .applied, message: "",
            at: Self.start, byAcceptedDevice: true)
        #expect(!byDevice)
        let byAdmin = try await store.finishPatch(
            id: second.id, fingerprint: otherDevice.fingerprint, target: second.target, state: .cancelled, message: "",
            at: Self.start, byAcceptedDevice: false)
        #expect(byAdmin)
        await cleanUp()
    }

    /// Queuing a patch wakes the device's waiting agent, in whichever server process it waits:
    /// every process reads the wake-ups after the last one it saw.
    @Test(arguments: StoreBackend.allCases)
    func queuingAPatchAddsAWakeUpForItsDevice(_ backend: StoreBackend) async throws {
        let (store, cleanUp) = try await backend.make()
        let device = try await Self.acceptedDevice(in: store)
        let before = try await store.latestAgentWakeupID()
        _ = try await store.queuePatch(Self.patch(device))
        _ = try await store.queuePatch(Self.patch(device, target: "client/plugins/z.sh"))
        let wakeups = try await store.agentWakeups(after: before, limit: 10)
        #expect(wakeups.map(\.fingerprint) == [device.fingerprint, device.fingerprint])
        #expect(try await store.latestAgentWakeupID() == wakeups.last?.id)
        #expect(try await store.agentWakeups(after: before, limit: 1).count == 1)
        #expect(try await store.agentWakeups(after: wakeups.last?.id ?? 0, limit: 10).isEmpty)
        await cleanUp()
    }
}
