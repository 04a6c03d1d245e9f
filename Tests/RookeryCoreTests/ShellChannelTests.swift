import Crypto
import Foundation
import RookeryTestSupport
import Testing

@testable import RookeryCore

/// The shell's frames: every message kind survives the trip, and anything but the next frame of
/// the right direction, session and keys fails to open and closes the channel for good.
@Suite struct ShellChannelTests {
    /// Both ends of one session, from a real key exchange.
    struct Session {
        var admin: ShellChannel
        var device: ShellChannel
        let keys: ShellSessionKeys

        init(sessionID: String = "session-1") throws {
            let adminHalf = ShellKeyExchange(side: .admin)
            let deviceHalf = ShellKeyExchange(side: .device)
            try self.init(adminHalf: adminHalf, deviceHalf: deviceHalf, sessionID: sessionID)
        }

        init(adminHalf: ShellKeyExchange, deviceHalf: ShellKeyExchange, sessionID: String) throws {
            let transcript = try ShellTranscript(
                sessionID: sessionID, adminPublicKey: adminHalf.publicKey, devicePublicKey: deviceHalf.publicKey,
                deviceFingerprint: "0123456789ABCDEF0123456789ABCDEF01234567")
            keys = try adminHalf.deriveKeys(peerPublicKey: deviceHalf.publicKey, transcript: transcript)
            admin = ShellChannel(side: .admin, keys: keys)
            device = ShellChannel(side: .device, keys: try deviceHalf.deriveKeys(peerPublicKey: adminHalf.publicKey, transcript: transcript))
        }
    }

    static let everyKind: [ShellMessage] = [
        .data(Data()), .data(Data("echo hello\r".utf8)), .data(Data((0..<ShellMessage.maxDataCount).map { UInt8(truncatingIfNeeded: $0) })),
        .windowSize(rows: 24, columns: 80), .windowSize(rows: 0, columns: 0), .windowSize(rows: .max, columns: 1),
        .exit(status: 0), .exit(status: 3), .exit(status: 255),
        .close(reason: ""), .close(reason: "idle for 15 minutes: fermé ✓"), .close(reason: String(repeating: "r", count: ShellMessage.maxReasonCount))
    ]

    @Test func everyMessageKindRoundTripsBothWays() throws {
        var session = try Session()
        for message in Self.everyKind {
            #expect(try session.device.open(session.admin.seal(message)) == message)
            #expect(try session.admin.open(session.device.seal(message).encoded) == message)
        }
    }

    static func randomMessage(_ random: inout SeededRandom, maxData: Int) -> ShellMessage {
        switch random.next() % 4 {
        case 0: return .data(random.bytes(count: Int(random.next() % UInt64(maxData + 1))))
        case 1: return .windowSize(rows: UInt16(truncatingIfNeeded: random.next()), columns: UInt16(truncatingIfNeeded: random.next()))
        case 2: return .exit(status: UInt8(truncatingIfNeeded: random.next()))
        default: return .close(reason: String(repeating: "é", count: Int(random.next() % 100)))
        }
    }

    @Test func tenThousandRandomMessagesArriveInOrder() throws {
        var random = SeededRandom(seed: 17)
        var session = try Session()
        var stream = ShellFrameDecoder()
        var sent: [ShellMessage] = []
        var received: [ShellMessage] = []
        for _ in 0..<10_000 {
            let message = Self.randomMessage(&random, maxData: 300)
            sent.append(message)
            // Both directions at once, and the admin's frames through a stream cut at random places.
            #expect(try session.admin.open(session.device.seal(message)) == message)
            let encoded = try session.admin.seal(message).encoded
            let cut = Int(random.next() % UInt64(encoded.count + 1))
            try stream.append(encoded.prefix(cut))
            for frame in try stream.nextFrames() { received.append(try session.device.open(frame)) }
            try stream.append(encoded.dropFirst(cut))
            for frame in try stream.nextFrames() { received.append(try session.device.open(frame)) }
        }
        try stream.finish()
        #expect(received == sent)
    }

    /// Every byte of a frame, flipped in one bit and in all eight: the frame never opens, and the
    /// channel then refuses the genuine frame with the same error.
    @Test(arguments: [UInt8(0x01), 0x80, 0xFF])
    func everyFlippedByteFailsAndClosesTheChannel(mask: UInt8) throws {
        var session = try Session()
        let genuine = try session.admin.seal(.data(Data("ls -l /etc\r".utf8))).encoded
        for index in genuine.indices {
            var receiver = session.device
            var altered = genuine
            altered[index] ^= mask
            let caught = #expect(throws: ShellChannelError.self, "byte \(index)") { try receiver.open(altered) }
            guard let error = caught else { continue }
            if index >= ShellFrame.headerCount {
                #expect(error == .authenticationFailed(frame: 0))
                #expect(error.description == "frame 0 failed to authenticate: altered, dropped, reordered or replayed; the shell session is closed")
            }
            #expect(receiver.isClosed)
            #expect(receiver.failure == error)
            #expect(throws: error) { try receiver.open(genuine) }
            #expect(throws: error) { try receiver.seal(.exit(status: 0)) }
        }
        #expect(try session.device.open(genuine) == .data(Data("ls -l /etc\r".utf8)))
    }

    @Test func aDroppedFrameFailsAndTheStreamNeverResumes() throws {
        var session = try Session()
        let frames = try (0..<3).map { try session.admin.seal(.data(Data([UInt8($0)]))) }
        #expect(try session.device.open(frames[0]) == .data(Data([0])))
        #expect(throws: ShellChannelError.authenticationFailed(frame: 1)) { try session.device.open(frames[2]) }
        #expect(throws: ShellChannelError.authenticationFailed(frame: 1)) { try session.device.open(frames[1]) }
        #expect(throws: ShellChannelError.authenticationFailed(frame: 1)) { try session.device.open(frames[2]) }
    }

    @Test func aSwappedPairFails() throws {
        var session = try Session()
        let first = try session.device.seal(.data(Data("a".utf8)))
        let second = try session.device.seal(.data(Data("b".utf8)))
        #expect(throws: ShellChannelError.authenticationFailed(frame: 0)) { try session.admin.open(second) }
        #expect(throws: ShellChannelError.authenticationFailed(frame: 0)) { try session.admin.open(first) }
    }

    @Test func aReplayedFrameFails() throws {
        var session = try Session()
        let frame = try session.admin.seal(.windowSize(rows: 50, columns: 132))
        #expect(try session.device.open(frame) == .windowSize(rows: 50, columns: 132))
        #expect(throws: ShellChannelError.authenticationFailed(frame: 1)) { try session.device.open(frame) }
    }

    @Test func aFrameReflectedBackToItsSenderFails() throws {
        var session = try Session()
        let toDevice = try session.admin.seal(.data(Data("id\r".utf8)))
        #expect(throws: ShellChannelError.authenticationFailed(frame: 0)) { try session.admin.open(toDevice) }
        let toAdmin = try session.device.seal(.exit(status: 0))
        #expect(throws: ShellChannelError.authenticationFailed(frame: 0)) { try session.device.open(toAdmin) }
    }

    /// The same two ephemeral keys under another session id: without the session in HKDF the
    /// keys would be equal and this frame would open.
    @Test func aFrameUnderAnotherSessionsKeysFails() throws {
        let adminHalf = ShellKeyExchange(side: .admin)
        let deviceHalf = ShellKeyExchange(side: .device)
        var first = try Session(adminHalf: adminHalf, deviceHalf: deviceHalf, sessionID: "session-1")
        var second = try Session(adminHalf: adminHalf, deviceHalf: deviceHalf, sessionID: "session-2")
        let frame = try first.admin.seal(.data(Data("whoami\r".utf8)))
        #expect(throws: ShellChannelError.authenticationFailed(frame: 0)) { try second.device.open(frame) }
        #expect(try first.device.open(frame) == .data(Data("whoami\r".utf8)))
        // And a frame of a session with other ephemeral keys.
        var stranger = try Session(sessionID: "session-1")
        #expect(throws: ShellChannelError.authenticationFailed(frame: 0)) { try stranger.device.open(first.admin.seal(.exit(status: 0))) }
    }

    /// The wire layout as documented at the top of ShellChannel.swift, checked with swift-crypto
    /// directly: what docs/remote-shell.md quotes is what goes on the wire.
    @Test func framesHaveTheDocumentedLayout() throws {
        var session = try Session()
        for counter in UInt64(0)..<3 {
            let encoded = Array(try session.admin.seal(.data(Data("frame \(counter)".utf8))).encoded)
            let length = encoded[0..<4].reduce(0) { $0 << 8 | Int($1) }
            #expect(length == encoded.count - 4)
            let nonce = Array("a->d".utf8) + [0, 0, 0, 0, 0, 0, 0, UInt8(counter)]
            let box = try ChaChaPoly.SealedBox(
                nonce: ChaChaPoly.Nonce(data: nonce), ciphertext: encoded[4..<(encoded.count - 16)], tag: encoded[(encoded.count - 16)...])
            let plaintext = try ChaChaPoly.open(box, using: session.keys.adminToDevice)
            #expect(Array(plaintext) == [1] + Array("frame \(counter)".utf8))
        }
        let reply = Array(try session.device.seal(.windowSize(rows: 0x0102, columns: 0x0304)).encoded)
        #expect(reply[0..<4] == [0, 0, 0, 21])
        let box = try ChaChaPoly.SealedBox(
            nonce: ChaChaPoly.Nonce(data: Array("d->a".utf8) + [UInt8](repeating: 0, count: 8)), ciphertext: reply[4..<9], tag: reply[9...])
        #expect(Array(try ChaChaPoly.open(box, using: session.keys.deviceToAdmin)) == [2, 1, 2, 3, 4])
        #expect(ShellDirection.adminToDevice.nonceBytes(counter: 0x0102_0304_0506_0708) == Array("a->d".utf8) + [1, 2, 3, 4, 5, 6, 7, 8])
    }

    /// Frames sealed under the right key and nonce whose plaintext is no message: the peer is
    /// broken, and the channel says so and closes.
    @Test(arguments: [
        ([UInt8](), ShellMessageError.empty), ([9], .unknownType(9)), ([0], .unknownType(0)),
        ([2, 0, 24, 0], .wrongLength(type: "window size", count: 4, expected: 5)),
        ([2, 0, 24, 0, 80, 0], .wrongLength(type: "window size", count: 6, expected: 5)),
        ([3], .wrongLength(type: "exit", count: 1, expected: 2)), ([3, 0, 0], .wrongLength(type: "exit", count: 3, expected: 2)),
        ([4, 0xFF, 0xFE], .reasonNotUTF8), ([4] + [UInt8](repeating: 0x61, count: 1025), .reasonTooLong(count: 1025, limit: 1024))
    ])
    func anAuthenticMalformedMessageClosesTheChannel(plaintext: [UInt8], problem: ShellMessageError) throws {
        var session = try Session()
        let box = try ChaChaPoly.seal(plaintext, using: session.keys.adminToDevice, nonce: ShellDirection.adminToDevice.nonce(counter: 0))
        if plaintext.isEmpty {
            // No frame can hold an empty plaintext: its length is refused first.
            #expect(throws: ShellChannelError.frameLengthOutOfBounds(length: 16)) {
                try session.device.open(ShellFrame(ciphertext: box.ciphertext, tag: box.tag).encoded)
            }
            #expect(throws: problem) { try ShellMessage(decoding: plaintext) }
            return
        }
        let expected = ShellChannelError.malformedMessage(frame: 0, problem)
        #expect(throws: expected) { try session.device.open(ShellFrame(ciphertext: box.ciphertext, tag: box.tag)) }
        #expect(throws: expected) { try session.device.open(session.admin.seal(.exit(status: 0))) }
    }

    @Test func aMessageTooLargeIsRefusedWithoutClosingTheChannel() throws {
        var session = try Session()
        #expect(throws: ShellChannelError.messageRefused(.tooLarge(count: ShellFrame.maxPayload + 1, limit: ShellFrame.maxPayload))) {
            try session.admin.seal(.data(Data(count: ShellMessage.maxDataCount + 1)))
        }
        #expect(throws: ShellChannelError.messageRefused(.reasonTooLong(count: 1025, limit: 1024))) {
            try session.admin.seal(.close(reason: String(repeating: "x", count: 1025)))
        }
        #expect(!session.admin.isClosed)
        #expect(try session.device.open(session.admin.seal(.exit(status: 7))) == .exit(status: 7))
    }

    @Test func countersStopBeforeTheyWrap() throws {
        let session = try Session()
        var sender = ShellChannel(side: .admin, keys: session.keys, sendCounter: UInt64.max - 1, receiveCounter: 0)
        var receiver = ShellChannel(side: .device, keys: session.keys, sendCounter: 0, receiveCounter: UInt64.max - 1)
        let last = try sender.seal(.data(Data("last".utf8)))
        #expect(try receiver.open(last) == .data(Data("last".utf8)))
        #expect(throws: ShellChannelError.counterExhausted(.adminToDevice)) { try sender.seal(.exit(status: 0)) }
        #expect(throws: ShellChannelError.counterExhausted(.adminToDevice)) { try receiver.open(last) }
        #expect(sender.isClosed && receiver.isClosed)
    }

    @Test func aTruncatedStreamWaitsForTheRest() throws {
        var session = try Session()
        let encoded = try session.admin.seal(.data(Data("top\r".utf8))).encoded + session.admin.seal(.exit(status: 3)).encoded
        var stream = ShellFrameDecoder()
        var messages: [ShellMessage] = []
        for byte in encoded {
            try stream.append(Data([byte]))
            if messages.count < 2, stream.unreadCount > 0 {
                #expect(throws: ShellChannelError.streamCut(unreadCount: stream.unreadCount)) { try stream.finish() }
            }
            while let frame = try stream.nextFrame() { messages.append(try session.device.open(frame)) }
        }
        #expect(messages == [.data(Data("top\r".utf8)), .exit(status: 3)])
        #expect(stream.unreadCount == 0)
        try stream.finish()
    }

    @Test func severalFramesInOnePieceComeOutOneByOne() throws {
        var session = try Session()
        let messages: [ShellMessage] = [.data(Data("a".utf8)), .windowSize(rows: 10, columns: 20), .close(reason: "bye")]
        let encoded = try messages.reduce(Data()) { $0 + (try session.admin.seal($1).encoded) }
        for split in 0...encoded.count {
            var receiver = session.device
            var stream = ShellFrameDecoder()
            try stream.append(encoded.prefix(split))
            var frames = try stream.nextFrames()
            try stream.append(encoded.dropFirst(split))
            frames += try stream.nextFrames()
            #expect(try frames.map { try receiver.open($0) } == messages)
        }
    }

    /// A length over the bound is refused from its 4 bytes alone: the decoder neither waits for
    /// 4 GiB nor sets aside room for them.
    @Test(arguments: [UInt32.max, 0x8000_0000, UInt32(ShellFrame.maxSealedCount + 1), 0, 1, UInt32(ShellFrame.minSealedCount - 1)])
    func aLengthOutOfBoundsIsRefusedAtOnce(length: UInt32) throws {
        let header = Data([UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)])
        var stream = ShellFrameDecoder()
        try stream.append(header)
        #expect(throws: ShellChannelError.frameLengthOutOfBounds(length: length)) { try stream.nextFrame() }
        #expect(throws: ShellChannelError.frameLengthOutOfBounds(length: length)) { try stream.append(Data([1])) }
        #expect(stream.unreadCount == 0)
        var session = try Session()
        #expect(throws: ShellChannelError.frameLengthOutOfBounds(length: length)) { try session.device.open(header + Data(count: 17)) }
    }

    @Test func theLargestLengthWaitsForItsBytes() throws {
        var stream = ShellFrameDecoder()
        let length = UInt32(ShellFrame.maxSealedCount)
        try stream.append(Data([UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]))
        #expect(try stream.nextFrame() == nil)
        var session = try Session()
        let full = try session.admin.seal(.data(Data(count: ShellMessage.maxDataCount)))
        #expect(full.encoded.count == ShellFrame.maxEncodedCount)
        #expect(try session.device.open(full) == .data(Data(count: ShellMessage.maxDataCount)))
    }

    @Test func framesGivenWholeMustBeExactlyOneFrame() throws {
        var session = try Session()
        let encoded = try session.admin.seal(.exit(status: 1)).encoded
        var cut = session.device
        #expect(throws: ShellChannelError.frameLengthMismatch(declared: 18, actual: 17)) { try cut.open(encoded.dropLast()) }
        var long = session.device
        #expect(throws: ShellChannelError.frameLengthMismatch(declared: 18, actual: 19)) { try long.open(encoded + Data([0])) }
        var tiny = session.device
        #expect(throws: ShellChannelError.streamCut(unreadCount: 2)) { try tiny.open(Data([0, 0])) }
        #expect(try session.device.open(encoded) == .exit(status: 1))
    }

    @Test func unreadBytesAreBounded() throws {
        var stream = ShellFrameDecoder(bufferLimit: 0)
        #expect(stream.bufferLimit == ShellFrame.maxEncodedCount)
        try stream.append(Data(count: ShellFrame.maxEncodedCount - 1))
        #expect(throws: ShellChannelError.bufferFull(limit: ShellFrame.maxEncodedCount)) { try stream.append(Data(count: 2)) }
        #expect(throws: ShellChannelError.bufferFull(limit: ShellFrame.maxEncodedCount)) { try stream.nextFrame() }
    }

    /// Random bytes and mutations of real streams (bit flips, inserted and deleted bytes, random
    /// length prefixes, truncation, splices), fed in random pieces: the decoder and the channel
    /// never crash, every step ends, each input takes at most one frame per 17 bytes, and only
    /// an untouched stream opens whole. Fixed seed and budget, so a failure repeats.
    @Test func decoderFuzz() throws {
        var random = SeededRandom(seed: 0x5EED_0017)
        var session = try Session()
        let receiver = session.device
        let messages = (0..<8).map { _ in Self.randomMessage(&random, maxData: 40) }
        let frames = try messages.map { try session.admin.seal($0).encoded }
        let genuine = frames.reduce(Data(), +)
        var outcomes = (opened: 0, refused: 0, waiting: 0)
        for round in 0..<20_000 {
            var input = round % 4 == 0 ? random.bytes(count: Int(random.next() % 200)) : genuine
            if round % 4 != 0 { Self.mutate(&input, &random) }
            var stream = ShellFrameDecoder()
            var channel = receiver
            var opened: [ShellMessage] = []
            var rest = input[...]
            do {
                while !rest.isEmpty {
                    let piece = rest.prefix(1 + Int(random.next() % 64))
                    rest = rest.dropFirst(piece.count)
                    try stream.append(Data(piece))
                    for frame in try stream.nextFrames() { opened.append(try channel.open(frame)) }
                    #expect(opened.count <= input.count / ShellFrame.minSealedCount + 1)
                }
            } catch is ShellChannelError {
                outcomes.refused += 1
                continue
            }
            do {
                try stream.finish()
                outcomes.opened += 1
                if input == genuine { #expect(opened == messages) } else { #expect(opened.count <= messages.count) }
            } catch ShellChannelError.streamCut {
                outcomes.waiting += 1
            }
        }
        // The mutations reach every outcome, or the fuzz is not exercising the decoder.
        #expect(outcomes.opened > 0 && outcomes.refused > 1000 && outcomes.waiting > 100, "\(outcomes)")
    }

    static func mutate(_ input: inout Data, _ random: inout SeededRandom) {
        for _ in 0...(random.next() % 3) {
            let position = input.isEmpty ? 0 : Int(random.next() % UInt64(input.count))
            switch random.next() % 7 {
            case 0 where !input.isEmpty: input[position] ^= UInt8(1 << (random.next() % 8))
            case 1: input.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
            case 2 where !input.isEmpty: input.remove(at: position)
            case 3: input = input.prefix(position)
            case 4 where input.count >= position + 4:
                // A random length prefix, often near the bound, where off-by-one errors live.
                let length = random.bool() ? UInt32(truncatingIfNeeded: random.next()) : UInt32(ShellFrame.maxSealedCount) &+ UInt32(random.next() % 3) &- 1
                for offset in 0..<4 { input[position + offset] = UInt8(truncatingIfNeeded: length >> (24 - 8 * offset)) }
            case 5: input += random.bytes(count: Int(random.next() % 40))
            case 6: input = input.prefix(position) + input.prefix(Int(random.next() % UInt64(input.count + 1)))
            default: break
            }
        }
    }
}
