import Foundation
import RookeryCore
import RookeryCurl
import RookeryTestSupport
import Testing

@testable import RookeryClient

/// The device's sending thread, against a real HTTP listener that stands for the server's
/// `device/send` and can hold its answer: frames go in order and numbered, output is taken while a
/// batch is on its way, a full outbox holds its caller, and a failed send is the last.
@Suite struct ShellOutboxTests {
    /// A frame of `count` bytes in all, its bytes telling it apart.
    static func frame(_ mark: UInt8, count: Int = 64) throws -> ShellFrame {
        let sealed = count - ShellFrame.headerCount
        let header = (0..<4).reversed().map { UInt8(truncatingIfNeeded: UInt32(sealed) >> (UInt32($0) * 8)) }
        return try ShellFrame(encoded: Data(header) + Data(repeating: mark, count: sealed))
    }

    /// A listener that answers each send after `release` lets it (or at once, once opened for good).
    final class HeldServer: Sendable {
        let receiver: HTTPReceiver
        let release = DispatchSemaphore(value: 0)
        let arrived = DispatchSemaphore(value: 0)

        init(status: Int = 200) throws {
            let (release, arrived) = (release, arrived)
            receiver = try HTTPReceiver { _ in
                arrived.signal()
                release.wait()
                return ReceiverReply(status: status, body: Data(#"{"seq": 1}"#.utf8))
            }
        }

        var link: ShellLink {
            ShellLink(
                serverURL: receiver.url, sessionID: String(repeating: "ab", count: 16), side: .device,
                headers: [WireProtocol.shellTokenHeader: "t"], caFile: nil, reconnectSeconds: 2)
        }

        /// The `first=` of each send, and all the bytes sent, in order.
        var sends: [(first: String, body: Data)] {
            receiver.requests.map { request in
                (String(request.path.split(separator: "first=").last ?? ""), request.body)
            }
        }

        func openForGood() { for _ in 0..<100 { release.signal() } }
    }

    @Test func framesGoInOrderNumberedAndWhatWaitsGoesAsOneBatch() throws {
        let server = try HeldServer()
        defer { server.receiver.stop() }
        let outbox = try ShellOutbox(link: server.link)
        defer { outbox.stop() }
        let frames = try (1...5).map { try Self.frame(UInt8($0)) }
        #expect(outbox.put([frames[0]]) == nil)
        #expect(server.arrived.wait(timeout: .now() + 5) == .success)
        // The first batch is held at the server: the next puts return at once and wait together.
        #expect(outbox.put([frames[1], frames[2]]) == nil)
        #expect(outbox.put([frames[3]]) == nil)
        #expect(outbox.put([frames[4]]) == nil)
        server.openForGood()
        #expect(outbox.flush() == nil)
        let sends = server.sends
        #expect(sends.map(\.first) == ["1", "2"])
        #expect(sends.reduce(Data()) { $0 + $1.body } == frames.reduce(Data()) { $0 + $1.encoded })
    }

    @Test func aFullOutboxHoldsItsCallerUntilTheServerTakesABatch() throws {
        let server = try HeldServer()
        defer { server.receiver.stop() }
        let outbox = try ShellOutbox(link: server.link)
        defer { outbox.stop() }
        let big = try Self.frame(1, count: ShellFrame.maxEncodedCount)
        let perBatch = ShellOutbox.maxBytes / big.encoded.count
        #expect(outbox.put([big]) == nil)
        #expect(server.arrived.wait(timeout: .now() + 5) == .success)
        // One frame is on its way: room for the rest of a batch's worth, then the caller waits.
        #expect(outbox.put(Array(repeating: big, count: perBatch - 1)) == nil)
        let returned = Locked(false)
        let putter = DispatchSemaphore(value: 0)
        try DedicatedThread.start {
            _ = outbox.put([big])
            returned.withLock { $0 = true }
            putter.signal()
        }
        #expect(putter.wait(timeout: .now() + 0.5) == .timedOut)
        #expect(!returned.current)
        server.openForGood()
        #expect(putter.wait(timeout: .now() + 5) == .success)
        #expect(outbox.flush() == nil)
        #expect(server.sends.reduce(0) { $0 + $1.body.count } == (perBatch + 1) * big.encoded.count)
    }

    /// Many small frames (keystroke echoes) pile up while a batch waits: they go in batches the
    /// server takes (it refuses more than 256 waiting in a direction at once).
    @Test func aBatchCarriesAtMostMaxFramesPerBatch() throws {
        let server = try HeldServer()
        defer { server.receiver.stop() }
        let outbox = try ShellOutbox(link: server.link)
        defer { outbox.stop() }
        let frames = try (0..<300).map { try Self.frame(UInt8(truncatingIfNeeded: $0)) }
        #expect(outbox.put([frames[0]]) == nil)
        #expect(server.arrived.wait(timeout: .now() + 5) == .success)
        for frame in frames.dropFirst() { #expect(outbox.put([frame]) == nil) }
        server.openForGood()
        #expect(outbox.flush() == nil)
        let sends = server.sends
        #expect(sends.map { $0.body.count / 64 } == [1, 128, 128, 43])
        #expect(sends.map(\.first) == ["1", "2", "130", "258"])
        #expect(sends.reduce(Data()) { $0 + $1.body } == frames.reduce(Data()) { $0 + $1.encoded })
    }

    @Test func aFailedSendIsReturnedToEveryLaterCallAndNothingMoreIsSent() throws {
        let server = try HeldServer(status: 403)
        defer { server.receiver.stop() }
        server.openForGood()
        let outbox = try ShellOutbox(link: server.link)
        defer { outbox.stop() }
        #expect(outbox.put([try Self.frame(1)]) == nil)
        let failure = try #require(outbox.flush())
        #expect(failure.description.contains("403"), "\(failure)")
        #expect(outbox.put([try Self.frame(2)])?.description == failure.description)
        #expect(outbox.flush()?.description == failure.description)
        Thread.sleep(forTimeInterval: 0.2)
        #expect(server.sends.count == 1)
    }
}
