import Crypto
import Foundation
import GRDB
import RookeryCore
import Testing

@testable import RookeryServer

/// Remote-shell sessions in a real database (issue 17, item 5; a SQLite file, or PostgreSQL in
/// bin/test's PostgreSQL round): the life cycle, who may answer
/// and read a session, the bounds on waiting frames, the cap per device, idle sessions, and two
/// stores ("server processes") sharing one database.
@Suite struct ShellSessionStoreTests {
    let sandbox: Sandbox
    let root: InstallRoot
    let settings: ServerSettings
    let store: any Store
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    init() async throws {
        sandbox = try Sandbox()
        root = InstallRoot(path: try sandbox.directory("server"))
        var settings = ServerSettings()
        try await StoreBackend.current.configure(&settings)
        self.settings = settings
        store = try await AdminContext.openStore(settings, root: root)
    }

    /// An accepted device, straight into the store (the store does not read its key).
    func device(_ index: Int, state: DeviceState = .accepted) async throws -> String {
        let fingerprint = String(format: "%040X", index)
        _ = try await store.enroll(
            Device(
                fingerprint: fingerprint, publicKey: "k", hostname: "h\(index)", machineID: "m\(index)",
                state: .pending, enrolledAt: start),
            acceptUnlessFlagged: state == .accepted)
        return fingerprint
    }

    func request(_ fingerprint: String, at offset: TimeInterval = 0) -> ShellSessionRequest {
        ShellSessionRequest(
            fingerprint: fingerprint, openedBy: "alice", adminKey: Data(repeating: 1, count: 32), term: "xterm-256color",
            rows: 24, columns: 80, at: start + offset)
    }

    static let token = Data(repeating: 7, count: 32)
    static var tokenHash: Data { Data(SHA256.hash(data: token)) }

    /// A session `fingerprint` accepted, with `tokenHash`.
    func openSession(_ fingerprint: String, at offset: TimeInterval = 0) async throws -> ShellSessionRecord {
        let requested = try await store.openShellSession(request(fingerprint, at: offset))
        return try await store.acceptShellSession(
            id: requested.id, fingerprint: fingerprint, deviceKey: Data(repeating: 2, count: 32),
            tokenHash: Self.tokenHash, at: start + offset + 1)
    }

    /// A frame-sized blob: the store neither opens nor parses frames, it only bounds them.
    static func frame(_ byte: UInt8, count: Int = 40) -> Data { Data(repeating: byte, count: count) }

    func frameRows(_ id: String) async throws -> Int {
        try await StoreBackend.number("SELECT count(*) FROM shell_frames WHERE session_id = ?", id, on: store)
    }

    func kind(_ error: (any Error)?) -> ErrorKind? { (error as? AdminError)?.kind }

    @Test func aSessionGoesFromRequestedToOpenCarriesFramesBothWaysAndCloses() async throws {
        let fingerprint = try await device(1)
        let requested = try await store.openShellSession(request(fingerprint))
        #expect(requested.state == .requested)
        #expect(requested.id.count == 32 && requested.id.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(requested.openedBy == "alice" && requested.term == "xterm-256color" && requested.rows == 24)
        #expect(try await store.pendingShellSessions(fingerprint: fingerprint).map(\.id) == [requested.id])
        await #expect(throws: ShellFramesRefused.notOpen, "no frames before the device accepted") {
            try await store.appendShellFrames(id: requested.id, direction: .adminToDevice, frames: [Self.frame(1)], at: start)
        }

        let open = try await store.acceptShellSession(
            id: requested.id, fingerprint: fingerprint, deviceKey: Data(repeating: 2, count: 32),
            tokenHash: Self.tokenHash, at: start + 1)
        #expect(open.state == .open && open.deviceKey == Data(repeating: 2, count: 32))
        #expect(try await store.pendingShellSessions(fingerprint: fingerprint).isEmpty)
        let again = await #expect(throws: AdminError.self) {
            try await store.acceptShellSession(
                id: requested.id, fingerprint: fingerprint, deviceKey: Data(repeating: 3, count: 32),
                tokenHash: Self.tokenHash, at: start + 2)
        }
        #expect(kind(again) == .conflict, "a session is accepted once")

        let toDevice = try await store.appendShellFrames(
            id: open.id, direction: .adminToDevice, frames: [Self.frame(1), Self.frame(2, count: 50)], at: start + 3)
        let toAdmin = try await store.appendShellFrames(
            id: open.id, direction: .deviceToAdmin, frames: [Self.frame(3, count: 60)], at: start + 4)
        #expect(toDevice == [1, 2] && toAdmin == [1])
        let deviceReads = try await store.shellFrames(id: open.id, direction: .adminToDevice, after: 0, limit: 10)
        #expect(deviceReads == [.init(seq: 1, frame: Self.frame(1)), .init(seq: 2, frame: Self.frame(2, count: 50))])
        let adminReads = try await store.shellFrames(id: open.id, direction: .deviceToAdmin, after: 0, limit: 10)
        #expect(adminReads == [.init(seq: 1, frame: Self.frame(3, count: 60))])

        let counted = try #require(try await store.shellSession(id: open.id))
        #expect(counted.bytesToDevice == 90 && counted.bytesToAdmin == 60 && counted.lastActivity == start + 4)
        #expect(try await store.openShellSessions().map(\.id) == [open.id])

        #expect(try await store.closeShellSession(id: open.id, reason: "exit 0", at: start + 5))
        #expect(try await !store.closeShellSession(id: open.id, reason: "again", at: start + 6), "closing is idempotent")
        let closed = try #require(try await store.shellSessions(fingerprint: fingerprint, limit: 5).first)
        #expect(closed.state == .closed && closed.closeReason == "exit 0" && closed.closedAt == start + 5)
        #expect(closed.bytesToDevice == 90, "the record keeps what passed")
        #expect(try await frameRows(open.id) == 3, "closing keeps the frames for the other side to read")
        #expect(try await store.openShellSessions().isEmpty)
        await #expect(throws: ShellFramesRefused.notOpen) {
            try await store.appendShellFrames(id: open.id, direction: .adminToDevice, frames: [Self.frame(4)], at: start + 7)
        }
    }

    @Test func aRefusalEndsTheRequestWithItsReason() async throws {
        let fingerprint = try await device(1)
        let requested = try await store.openShellSession(request(fingerprint))
        let refused = try await store.refuseShellSession(
            id: requested.id, fingerprint: fingerprint, reason: "the owner allows no shells", at: start + 1)
        #expect(refused.state == .refused && refused.closeReason == "the owner allows no shells")
        #expect(try await store.openShellSessions().isEmpty)
        let accept = await #expect(throws: AdminError.self) {
            try await store.acceptShellSession(
                id: requested.id, fingerprint: fingerprint, deviceKey: Data(repeating: 2, count: 32),
                tokenHash: Self.tokenHash, at: start + 2)
        }
        #expect(kind(accept) == .conflict)
    }

    @Test func anotherDeviceCannotAcceptRefuseOrReadASession() async throws {
        let owner = try await device(1)
        let other = try await device(2)
        let requested = try await store.openShellSession(request(owner))
        let accept = await #expect(throws: AdminError.self) {
            try await store.acceptShellSession(
                id: requested.id, fingerprint: other, deviceKey: Data(repeating: 2, count: 32),
                tokenHash: Self.tokenHash, at: start + 1)
        }
        #expect(kind(accept) == .notFound)
        let refuse = await #expect(throws: AdminError.self) {
            try await store.refuseShellSession(id: requested.id, fingerprint: other, reason: "no", at: start + 1)
        }
        #expect(kind(refuse) == .notFound)
        #expect(try await store.shellSession(id: requested.id)?.state == .requested, "still waiting for its device")

        _ = try await store.acceptShellSession(
            id: requested.id, fingerprint: owner, deviceKey: Data(repeating: 2, count: 32),
            tokenHash: Self.tokenHash, at: start + 2)
        #expect(try await store.shellSession(id: requested.id, fingerprint: owner, tokenHash: Self.tokenHash) != nil)
        #expect(
            try await store.shellSession(id: requested.id, fingerprint: other, tokenHash: Self.tokenHash) == nil,
            "the right token from another device is not enough")
    }

    @Test func aDeviceNoLongerAcceptedCannotAcceptItsSession() async throws {
        let fingerprint = try await device(1)
        let requested = try await store.openShellSession(request(fingerprint))
        try await store.setState(.revoked, fingerprint: fingerprint, at: start + 1)
        let accept = await #expect(throws: AdminError.self) {
            try await store.acceptShellSession(
                id: requested.id, fingerprint: fingerprint, deviceKey: Data(repeating: 2, count: 32),
                tokenHash: Self.tokenHash, at: start + 2)
        }
        #expect(kind(accept) == .conflict)
    }

    @Test func aWrongTokenGetsNothing() async throws {
        let fingerprint = try await device(1)
        let requested = try await store.openShellSession(request(fingerprint))
        #expect(
            try await store.shellSession(id: requested.id, fingerprint: fingerprint, tokenHash: Self.tokenHash) == nil,
            "no token before the device accepted")
        let open = try await store.acceptShellSession(
            id: requested.id, fingerprint: fingerprint, deviceKey: Data(repeating: 2, count: 32),
            tokenHash: Self.tokenHash, at: start + 1)
        #expect(try await store.shellSession(id: open.id, fingerprint: fingerprint, tokenHash: Self.tokenHash) == open)
        var lastBitFlipped = Self.tokenHash
        lastBitFlipped[lastBitFlipped.count - 1] ^= 1
        for wrong in [
            lastBitFlipped, Data(SHA256.hash(data: Data(repeating: 8, count: 32))), Self.tokenHash.prefix(31),
            Self.tokenHash + Data([0]), Data()
        ] {
            #expect(try await store.shellSession(id: open.id, fingerprint: fingerprint, tokenHash: Data(wrong)) == nil)
        }
    }

    @Test func theFrameAfterTheCountBoundIsRefusedAndNothingIsStored() async throws {
        let open = try await openSession(try await device(1))
        for batch in 0..<4 {
            let frames = (0..<64).map { Self.frame(UInt8($0 + batch)) }
            _ = try await store.appendShellFrames(id: open.id, direction: .adminToDevice, frames: frames, at: start + 2)
        }
        let before = try #require(try await store.shellSession(id: open.id))
        let refused = await #expect(throws: ShellFramesRefused.self) {
            try await store.appendShellFrames(
                id: open.id, direction: .adminToDevice, frames: [Self.frame(9)], at: start + 3)
        }
        #expect(refused == .full(waitingFrames: 256, waitingBytes: 256 * 40))
        #expect(try await store.shellSession(id: open.id) == before, "no bytes counted, no activity touched")
        #expect(try await frameRows(open.id) == 256)
        // The other direction has its own bound.
        #expect(
            try await store.appendShellFrames(id: open.id, direction: .deviceToAdmin, frames: [Self.frame(9)], at: start + 3)
                == [1])
        // Once the reader fetched past some, there is room again, and numbering goes on.
        _ = try await store.shellFrames(id: open.id, direction: .adminToDevice, after: 0, limit: 256)
        _ = try await store.shellFrames(id: open.id, direction: .adminToDevice, after: 1, limit: 256)
        #expect(
            try await store.appendShellFrames(id: open.id, direction: .adminToDevice, frames: [Self.frame(9)], at: start + 4)
                == [257])
    }

    @Test func aBatchOverTheCountBoundIsRefusedWhole() async throws {
        let open = try await openSession(try await device(1))
        _ = try await store.appendShellFrames(
            id: open.id, direction: .adminToDevice, frames: (0..<200).map { _ in Self.frame(1) }, at: start + 2)
        await #expect(throws: ShellFramesRefused.full(waitingFrames: 200, waitingBytes: 200 * 40)) {
            try await store.appendShellFrames(
                id: open.id, direction: .adminToDevice, frames: (0..<57).map { _ in Self.frame(2) }, at: start + 3)
        }
        #expect(try await frameRows(open.id) == 200)
    }

    @Test func framesOverTheByteBoundAreRefusedAndNothingIsStored() async throws {
        let open = try await openSession(try await device(1))
        let largest = ShellFrame.maxEncodedCount
        #expect(largest == 65_556)
        // 15 of the largest frames fit in 1 MiB; a 16th does not.
        let fitting = ShellFrameBounds.maxWaitingBytes / largest
        #expect(fitting == 15)
        for index in 0..<fitting {
            _ = try await store.appendShellFrames(
                id: open.id, direction: .deviceToAdmin, frames: [Self.frame(UInt8(index), count: largest)], at: start + 2)
        }
        let before = try #require(try await store.shellSession(id: open.id))
        let refused = await #expect(throws: ShellFramesRefused.self) {
            try await store.appendShellFrames(
                id: open.id, direction: .deviceToAdmin, frames: [Self.frame(99, count: largest)], at: start + 3)
        }
        #expect(refused == .full(waitingFrames: fitting, waitingBytes: fitting * largest))
        #expect(try await store.shellSession(id: open.id) == before)
        #expect(try await frameRows(open.id) == fitting)
        // What still fits under the bytes goes in.
        let room = ShellFrameBounds.maxWaitingBytes - fitting * largest
        #expect(
            try await store.appendShellFrames(
                id: open.id, direction: .deviceToAdmin, frames: [Self.frame(7, count: room)], at: start + 4) == [16])
    }

    @Test func aFrameTooLargeOrTooSmallIsRefusedWithTheRestOfItsBatch() async throws {
        let open = try await openSession(try await device(1))
        let largest = ShellFrame.maxEncodedCount
        await #expect(throws: ShellFramesRefused.tooLarge(bytes: largest + 1)) {
            try await store.appendShellFrames(
                id: open.id, direction: .adminToDevice, frames: [Self.frame(1), Self.frame(2, count: largest + 1)],
                at: start + 2)
        }
        let smallest = ShellFrame.headerCount + ShellFrame.minSealedCount
        await #expect(throws: ShellFramesRefused.tooSmall(bytes: smallest - 1)) {
            try await store.appendShellFrames(
                id: open.id, direction: .adminToDevice, frames: [Self.frame(1), Self.frame(2, count: smallest - 1)],
                at: start + 2)
        }
        #expect(try await frameRows(open.id) == 0)
        #expect(try await store.shellSession(id: open.id)?.bytesToDevice == 0)
        #expect(
            try await store.appendShellFrames(
                id: open.id, direction: .adminToDevice, frames: [Self.frame(1, count: largest), Self.frame(2, count: smallest)],
                at: start + 3) == [1, 2])
    }

    @Test func framesReadPastAreDeletedAndNumberingGoesOn() async throws {
        let open = try await openSession(try await device(1))
        _ = try await store.appendShellFrames(
            id: open.id, direction: .deviceToAdmin, frames: [Self.frame(1), Self.frame(2), Self.frame(3)], at: start + 2)
        #expect(try await store.shellFrames(id: open.id, direction: .deviceToAdmin, after: 0, limit: 2).map(\.seq) == [1, 2])
        #expect(try await frameRows(open.id) == 3, "fetching acknowledges nothing yet")
        #expect(try await store.shellFrames(id: open.id, direction: .deviceToAdmin, after: 2, limit: 10).map(\.seq) == [3])
        #expect(try await frameRows(open.id) == 1)
        #expect(try await store.shellFrames(id: open.id, direction: .deviceToAdmin, after: 3, limit: 10).isEmpty)
        #expect(try await frameRows(open.id) == 0)
        #expect(
            try await store.appendShellFrames(id: open.id, direction: .deviceToAdmin, frames: [Self.frame(4)], at: start + 3)
                == [4], "a frame after all were deleted does not reuse a number the reader has passed")
        await #expect(throws: AdminError.self) {
            try await store.shellFrames(id: String(repeating: "0", count: 32), direction: .deviceToAdmin, after: 0, limit: 1)
        }
    }

    @Test func aDeviceHasAtMostTwoLiveSessions() async throws {
        let fingerprint = try await device(1)
        let first = try await openSession(fingerprint)
        let second = try await store.openShellSession(request(fingerprint, at: 1))
        let third = await #expect(throws: AdminError.self) { try await store.openShellSession(request(fingerprint, at: 2)) }
        #expect(kind(third) == .conflict)
        #expect(try await store.shellSessions(fingerprint: fingerprint, limit: 10).count == 2)
        // Another device is not held up by this one's sessions.
        _ = try await store.openShellSession(request(try await device(2), at: 2))

        _ = try await store.refuseShellSession(id: second.id, fingerprint: fingerprint, reason: "no", at: start + 3)
        let fourth = try await store.openShellSession(request(fingerprint, at: 4))
        #expect(try await store.shellSessions(fingerprint: fingerprint, limit: 10).map(\.id) == [fourth.id, second.id, first.id])
        #expect(try await store.shellSessions(fingerprint: fingerprint, limit: 1).map(\.id) == [fourth.id])
        await #expect(throws: AdminError.self) { try await store.openShellSession(request(fingerprint, at: 5)) }
        _ = try await store.closeShellSession(id: first.id, reason: "done", at: start + 6)
        _ = try await store.openShellSession(request(fingerprint, at: 7))
    }

    @Test func onlyAnAcceptedKnownDeviceGetsASession() async throws {
        let pending = try await device(1, state: .pending)
        let refused = await #expect(throws: AdminError.self) { try await store.openShellSession(request(pending)) }
        #expect(kind(refused) == .conflict)
        let unknown = await #expect(throws: AdminError.self) {
            try await store.openShellSession(request(String(repeating: "F", count: 40)))
        }
        #expect(kind(unknown) == .notFound)
    }

    @Test func requestsAndAnswersOutOfBoundsAreRefusedClearly() async throws {
        let fingerprint = try await device(1)
        var requests: [ShellSessionRequest] = []
        for change in [
            { (r: inout ShellSessionRequest) in r.adminKey = Data(repeating: 1, count: 31) },
            { $0.openedBy = "" }, { $0.openedBy = String(repeating: "u", count: 257) },
            { $0.term = "xterm\n" }, { $0.term = String(repeating: "t", count: 65) },
            { $0.rows = 0 }, { $0.columns = 65_536 },
            { $0.command = "" }, { $0.command = "a\u{0}b" }, { $0.command = String(repeating: "c", count: 16 * 1024 + 1) }
        ] as [(inout ShellSessionRequest) -> Void] {
            var bad = request(fingerprint)
            change(&bad)
            requests.append(bad)
        }
        for bad in requests {
            let error = await #expect(throws: AdminError.self) { try await store.openShellSession(bad) }
            #expect(kind(error) == .input)
        }
        #expect(try await store.shellSessions(fingerprint: fingerprint, limit: 10).isEmpty)
        let requested = try await store.openShellSession(request(fingerprint))
        for (key, hash) in [(Data(count: 31), Self.tokenHash), (Data(count: 32), Data(count: 33))] {
            let error = await #expect(throws: AdminError.self) {
                try await store.acceptShellSession(
                    id: requested.id, fingerprint: fingerprint, deviceKey: key, tokenHash: hash, at: start + 1)
            }
            #expect(kind(error) == .input)
        }
        await #expect(throws: AdminError.self) {
            try await store.refuseShellSession(
                id: requested.id, fingerprint: fingerprint, reason: String(repeating: "r", count: 1025), at: start + 1)
        }
        #expect(try await store.shellSession(id: requested.id)?.state == .requested)
    }

    static let sweep = ShellSweepPolicy(idleSeconds: 40, unansweredSeconds: 25)

    @Test func theSweepClosesIdleAndUnansweredSessionsAndKeepsTheirFramesAMinute() async throws {
        let fingerprint = try await device(1)
        let idle = try await openSession(fingerprint)
        let busy = try await openSession(fingerprint, at: 10)
        _ = try await store.appendShellFrames(id: idle.id, direction: .adminToDevice, frames: [Self.frame(1)], at: start + 5)
        _ = try await store.appendShellFrames(id: busy.id, direction: .adminToDevice, frames: [Self.frame(2)], at: start + 100)
        _ = try await store.appendShellFrames(id: busy.id, direction: .deviceToAdmin, frames: [Self.frame(3)], at: start + 100)
        let unanswered = try await store.openShellSession(request(try await device(2), at: 70))
        let answeredLate = try await store.openShellSession(request(try await device(3), at: 90))

        let closed = try await store.sweepShellSessions(Self.sweep, now: start + 100)
        #expect(
            Set(closed.map(\.id)) == [idle.id, unanswered.id],
            "idle 95 s > 40; unanswered 30 s > 25; the other request waited only 10 s")
        #expect(try await store.shellSession(id: idle.id)?.closeReason == "idle for 40 seconds")
        #expect(
            try await store.shellSession(id: unanswered.id)?.closeReason == "the device did not answer within 25 seconds")
        #expect(try await store.shellSession(id: answeredLate.id)?.state == .requested)
        #expect(try await store.shellSession(id: busy.id)?.state == .open)
        #expect(try await frameRows(idle.id) == 1, "the other side may still read what waits")
        #expect(try await store.sweepShellSessions(Self.sweep, now: start + 100).isEmpty)

        _ = try await store.sweepShellSessions(Self.sweep, now: start + 159)
        #expect(try await frameRows(idle.id) == 1, "closed 59 s ago")
        _ = try await store.sweepShellSessions(Self.sweep, now: start + 161)
        #expect(try await frameRows(idle.id) == 0, "closed over a minute ago")
        #expect(try await frameRows(busy.id) == 2, "the busy one went idle at +141 and was closed at +159")
        _ = try await store.sweepShellSessions(Self.sweep, now: start + 220)
        #expect(try await frameRows(busy.id) == 0)
    }

    @Test func openingAndQueueingAPatchWakeTheDeviceAndOldWakeupsArePruned() async throws {
        let fingerprint = try await device(1)
        #expect(try await store.latestAgentWakeupID() == 0)
        let opened = try await store.openShellSession(request(fingerprint))
        let afterOpen = try await store.agentWakeups(after: 0, limit: 10)
        #expect(afterOpen.map(\.fingerprint) == [fingerprint])
        _ = try await store.queuePatch(
            Patch(fingerprint: fingerprint, target: "client/x", action: .write, mode: 0o644, content: Data(), createdAt: start))
        let both = try await store.agentWakeups(after: 0, limit: 10)
        #expect(both.count == 2 && both[1].id > both[0].id)
        #expect(try await store.agentWakeups(after: both[0].id, limit: 10) == [both[1]])
        #expect(try await store.latestAgentWakeupID() == both[1].id)
        // The shell's wake-up is dated when it was opened (start, in 2027), the patch's now.
        _ = try await store.sweepShellSessions(Self.sweep, now: Date() + 300)
        #expect(try await store.agentWakeups(after: 0, limit: 10) == both)
        _ = try await store.sweepShellSessions(Self.sweep, now: Date() + 900)
        #expect(try await store.agentWakeups(after: 0, limit: 10) == [both[0]])
        #expect(try await store.shellSession(id: opened.id)?.state == .requested)
    }

    @Test func aDeviceNoLongerAcceptedLosesItsLiveSessions() async throws {
        let fingerprint = try await device(1)
        let open = try await openSession(fingerprint)
        let requested = try await store.openShellSession(request(fingerprint, at: 2))
        let other = try await openSession(try await device(2))
        try await store.setState(.revoked, fingerprint: fingerprint, at: start + 3)
        for id in [open.id, requested.id] {
            let closed = try #require(try await store.shellSession(id: id))
            #expect(closed.state == .closed && closed.closeReason == "the device was revoked" && closed.closedAt == start + 3)
        }
        #expect(try await store.shellSession(id: other.id)?.state == .open)
        await #expect(throws: ShellFramesRefused.notOpen) {
            try await store.appendShellFrames(id: open.id, direction: .deviceToAdmin, frames: [Self.frame(1)], at: start + 4)
        }
    }

    @Test func aForgottenDevicesSessionsAndFramesGoWithIt() async throws {
        if let sqlite = store as? SQLiteStore {
            #expect(try await sqlite.pool.read { db in try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") } == true)
        }
        let fingerprint = try await device(1)
        let kept = try await device(2)
        let open = try await openSession(fingerprint)
        let other = try await openSession(kept)
        _ = try await store.appendShellFrames(id: open.id, direction: .adminToDevice, frames: [Self.frame(1)], at: start + 2)
        _ = try await store.appendShellFrames(id: other.id, direction: .adminToDevice, frames: [Self.frame(1)], at: start + 2)
        try await store.forget(fingerprint: fingerprint, at: start + 3)
        #expect(try await store.shellSession(id: open.id) == nil)
        #expect(try await frameRows(open.id) == 0)
        #expect(try await store.shellSession(id: other.id) != nil)
        #expect(try await frameRows(other.id) == 1)
    }

    @Test func twoStoresOnOneFileSeeEachOthersSessionsAndFrames() async throws {
        let adminSide = store
        let deviceSide = try await AdminContext.openStore(settings, root: root)
        let fingerprint = try await device(1)
        let requested = try await adminSide.openShellSession(request(fingerprint))
        #expect(try await deviceSide.pendingShellSessions(fingerprint: fingerprint).map(\.id) == [requested.id])
        _ = try await deviceSide.acceptShellSession(
            id: requested.id, fingerprint: fingerprint, deviceKey: Data(repeating: 2, count: 32),
            tokenHash: Self.tokenHash, at: start + 1)
        #expect(try await adminSide.shellSession(id: requested.id)?.state == .open)

        _ = try await adminSide.appendShellFrames(
            id: requested.id, direction: .adminToDevice, frames: [Self.frame(1)], at: start + 2)
        #expect(
            try await deviceSide.shellFrames(id: requested.id, direction: .adminToDevice, after: 0, limit: 10)
                == [.init(seq: 1, frame: Self.frame(1))])
        _ = try await deviceSide.appendShellFrames(
            id: requested.id, direction: .deviceToAdmin, frames: [Self.frame(2)], at: start + 3)
        #expect(
            try await adminSide.shellFrames(id: requested.id, direction: .deviceToAdmin, after: 0, limit: 10)
                == [.init(seq: 1, frame: Self.frame(2))])
        // The two writers share the bounds: they are counted in the file, not in a process.
        for _ in 0..<255 {
            _ = try await (Bool.random() ? adminSide : deviceSide).appendShellFrames(
                id: requested.id, direction: .adminToDevice, frames: [Self.frame(3)], at: start + 4)
        }
        await #expect(throws: ShellFramesRefused.self) {
            try await deviceSide.appendShellFrames(
                id: requested.id, direction: .adminToDevice, frames: [Self.frame(4)], at: start + 5)
        }
        #expect(try await deviceSide.closeShellSession(id: requested.id, reason: "exit 0", at: start + 6))
        #expect(try await !adminSide.closeShellSession(id: requested.id, reason: "again", at: start + 7))
    }

    /// A sender that numbers its batches has one sent again (its answer was lost) stored once,
    /// and one that skips a number refused: a frame stored twice would end the session as a replay.
    @Test func aNumberedBatchSentAgainIsStoredOnceAndAGapIsRefused() async throws {
        let open = try await openSession(try await device(1))
        let batch = [Self.frame(1), Self.frame(2)]
        let first = try await store.appendShellFrames(id: open.id, direction: .adminToDevice, frames: batch, first: 1, at: start + 2)
        let again = try await store.appendShellFrames(id: open.id, direction: .adminToDevice, frames: batch, first: 1, at: start + 3)
        #expect(first == [1, 2] && again == [1, 2])
        // Half of this batch was stored before: only its new frame is.
        let overlapping = try await store.appendShellFrames(
            id: open.id, direction: .adminToDevice, frames: [Self.frame(2), Self.frame(3)], first: 2, at: start + 4)
        #expect(overlapping == [3])
        let stored = try await store.shellFrames(id: open.id, direction: .adminToDevice, after: 0, limit: 10)
        #expect(stored.map(\.frame) == [Self.frame(1), Self.frame(2), Self.frame(3)])
        await #expect(throws: ShellFramesRefused.gap(expected: 4, first: 6)) {
            try await store.appendShellFrames(id: open.id, direction: .adminToDevice, frames: [Self.frame(6)], first: 6, at: start + 5)
        }
        #expect(try await store.shellSession(id: open.id)?.bytesToDevice == 120)
    }
}
