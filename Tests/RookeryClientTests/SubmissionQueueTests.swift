import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryClient

@Suite struct SubmissionQueueTests {
    let temporary: Sandbox
    let queue: SubmissionQueue

    init() throws {
        temporary = try Sandbox()
        queue = try SubmissionQueue(stateDirectory: temporary.path)
    }

    @Test func itemsComeBackOldestFirstWithTheirIDs() throws {
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        try queue.enqueue(["plugins": .object(["n": .integer(2)])], id: "b", at: t0.addingTimeInterval(5))
        try queue.enqueue(["plugins": .object(["n": .integer(1)])], id: "a", at: t0)
        let items = try queue.items()
        #expect(items.count == 2)
        #expect(try queue.read(items[0])["submission_id"] == .string("a"))
        #expect(try queue.read(items[1])["plugins"]?["n"] == .integer(2))
        #expect(items[0].queuedAt == t0)
    }

    @Test func leftoversOfInterruptedWritesAreIgnoredAndCleanedOnceOld() throws {
        try queue.enqueue(["plugins": .object([:])], id: "whole")
        // What a kill -9 in the middle of AtomicFile.write leaves behind.
        let leftover = queue.directory + "/.tmp-ABC"
        try Data("{\"plug".utf8).write(to: URL(fileURLWithPath: leftover))
        #expect(try queue.items().count == 1)
        // Young: maybe a write in progress by another run, so it stays.
        #expect(FileManager.default.fileExists(atPath: leftover))
        #expect(try queue.items(now: Date().addingTimeInterval(7200)).count == 1)
        #expect(!FileManager.default.fileExists(atPath: leftover))
    }

    @Test func rejectedItemsKeepTheirDataAndReason() throws {
        try queue.enqueue(["plugins": .object(["x": .bool(true)])], id: "bad")
        let item = try #require(try queue.items().first)
        try queue.reject(item, reason: "400 malformed: plugins is not an object")
        #expect(try queue.items().isEmpty)
        let kept = try Data(contentsOf: URL(fileURLWithPath: queue.rejectedDirectory + "/" + item.id))
        #expect(try JSONValue.parse(kept)["plugins"]?["x"] == .bool(true))
        let reason = try String(contentsOfFile: queue.rejectedDirectory + "/" + item.id + ".reason", encoding: .utf8)
        #expect(reason.contains("malformed"))
    }

    @Test func boundsDropTheOldestFirst() throws {
        let t0 = Date(timeIntervalSince1970: 1_700_000_000)
        for i in 0..<5 { try queue.enqueue(["plugins": .object([:])], id: "i\(i)", at: t0.addingTimeInterval(Double(i))) }
        let dropped = try queue.enforceBounds(maxItems: 3, maxBytes: 1 << 30, maxAge: 1e9, now: t0)
        #expect(dropped.count == 2)
        #expect(dropped.map(\.id).allSatisfy { $0.contains("-i0") || $0.contains("-i1") })
        #expect(try queue.items().count == 3)

        let old = try queue.enforceBounds(maxItems: 100, maxBytes: 1 << 30, maxAge: 60, now: t0.addingTimeInterval(63.5))
        #expect(old.count == 2)  // i2 and i3 are more than 60 s old, i4 is not
        #expect(try queue.items().count == 1)

        let bytes = try queue.enforceBounds(maxItems: 100, maxBytes: 1, maxAge: 1e9, now: t0)
        #expect(bytes.count == 1)
        #expect(try queue.items().isEmpty)
    }
}

@Suite struct CronScheduleTests {
    @Test func dueWhenIntervalPassedOrNeverRunOrClockWentBack() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(CronRun.isDue(nil, every: 300, now: now))
        #expect(!CronRun.isDue(now.addingTimeInterval(-299), every: 300, now: now))
        #expect(CronRun.isDue(now.addingTimeInterval(-300), every: 300, now: now))
        #expect(CronRun.isDue(now.addingTimeInterval(3600), every: 300, now: now))
    }
}

@Suite struct ClientStateTests {
    @Test func damagedStateFileMeansFreshState() throws {
        let temporary = try Sandbox()
        let dir = temporary.path
        try Data("{not json".utf8).write(to: URL(fileURLWithPath: dir + "/state.json"))
        #expect(ClientState.load(from: dir + "/state.json") == ClientState())
        var state = ClientState()
        state.enrollment = .pending
        state.lastCollect = Date(timeIntervalSince1970: 1_700_000_000)
        try state.save(to: dir + "/state.json")
        #expect(ClientState.load(from: dir + "/state.json") == state)
    }
}
