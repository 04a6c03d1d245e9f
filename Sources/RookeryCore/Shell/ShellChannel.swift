// The shell's end-to-end encrypted channel. The server relays these frames and cannot read,
// alter, drop, reorder or replay them unnoticed.
//
// Keys (ShellKeyExchange): each side makes an ephemeral X25519 key. With the shared secret S,
//   transcript = field(session id, UTF-8) | field(admin's X25519 public key, 32 bytes)
//              | field(device's X25519 public key, 32 bytes) | field(device's fingerprint, 40 upper-case hex ASCII)
//   where field(x) = length of x (u16 BE) | x
//   admin->device key = HKDF-SHA256(ikm: S, salt: transcript, info: "rookery shell v1 admin->device", 32 bytes)
//   device->admin key = HKDF-SHA256(ikm: S, salt: transcript, info: "rookery shell v1 device->admin", 32 bytes)
// An all-zero S (a low-order public key) is refused.
//
// Frame, as sent: length (u32 BE) | ciphertext | tag (16 bytes)
//   length counts ciphertext and tag: 17 to 65552 (a plaintext of 1 to 65536 bytes); any other
//   length is refused before its bytes are waited for.
//   ciphertext | tag = ChaCha20-Poly1305(key of the direction, nonce, plaintext), no associated data
//   nonce (12 bytes) = direction label (4 bytes: ASCII "a->d" or "d->a") | counter (u64 BE)
//   The counter is not sent: each direction's first frame is 0, the next 1, and so on; the
//   receiver opens frame N only with its own N, so a dropped, reordered, replayed, reflected or
//   altered frame fails, and the channel stays closed from then on. Counter 2^64-1 is never used.
//
// Plaintext (ShellMessage) = type (1 byte) | fields:
//   1 data         | terminal bytes (0 to 65535)
//   2 window size  | rows (u16 BE) | columns (u16 BE)
//   3 exit         | status (1 byte; 128+N for a shell killed by signal N)
//   4 close        | reason (UTF-8, 0 to 1024 bytes)
//   Anything else, or trailing bytes after fixed fields, is refused.

import Crypto
import FoundationEssentials

/// One side's end of a shell session: seals the messages it sends, opens those it receives, each
/// direction with its own key and counter. The first failure closes it for good: every later
/// call throws that same error.
///
/// A value type: keep one channel per side and do not seal or open through copies of it, or a
/// counter would be used twice.
public struct ShellChannel: Sendable {
    public let side: ShellSide
    private let sendingKey: SymmetricKey
    private let receivingKey: SymmetricKey
    /// The counter of the next frame this side seals.
    private var sendCounter: UInt64
    /// The counter the next frame received must have been sealed with.
    private var receiveCounter: UInt64
    /// Why the channel closed, once it has.
    public private(set) var failure: ShellChannelError?

    public init(side: ShellSide, keys: ShellSessionKeys) {
        self.init(side: side, keys: keys, sendCounter: 0, receiveCounter: 0)
    }

    /// Starts counters elsewhere than 0, so that tests reach the counter's end.
    init(side: ShellSide, keys: ShellSessionKeys, sendCounter: UInt64, receiveCounter: UInt64) {
        self.side = side
        sendingKey = keys.key(for: side.sendingDirection)
        receivingKey = keys.key(for: side.receivingDirection)
        self.sendCounter = sendCounter
        self.receiveCounter = receiveCounter
    }

    /// Whether a failure closed the channel.
    public var isClosed: Bool { failure != nil }

    /// The frame carrying `message`, sealed under the next counter. A message that cannot be
    /// encoded is refused without closing the channel (nothing was sent).
    public mutating func seal(_ message: ShellMessage) throws -> ShellFrame {
        if let failure { throw failure }
        let plaintext: [UInt8]
        do {
            plaintext = try message.encoded()
        } catch let problem as ShellMessageError {
            throw ShellChannelError.messageRefused(problem)
        }
        let direction = side.sendingDirection
        guard sendCounter < UInt64.max else { return try fail(.counterExhausted(direction)) }
        let box = try ChaChaPoly.seal(plaintext, using: sendingKey, nonce: direction.nonce(counter: sendCounter))
        sendCounter += 1
        return ShellFrame(ciphertext: box.ciphertext, tag: box.tag)
    }

    /// The message in `encodedFrame`, which must be exactly one frame.
    public mutating func open(_ encodedFrame: Data) throws -> ShellMessage {
        if let failure { throw failure }
        let frame: ShellFrame
        do {
            frame = try ShellFrame(encoded: encodedFrame)
        } catch let error as ShellChannelError {
            return try fail(error)
        }
        return try open(frame)
    }

    /// The message in `frame`, which must be the next frame the peer sealed.
    public mutating func open(_ frame: ShellFrame) throws -> ShellMessage {
        if let failure { throw failure }
        let direction = side.receivingDirection
        guard receiveCounter < UInt64.max else { return try fail(.counterExhausted(direction)) }
        let plaintext: Data
        do {
            let box = try ChaChaPoly.SealedBox(nonce: direction.nonce(counter: receiveCounter), ciphertext: frame.ciphertext, tag: frame.tag)
            plaintext = try ChaChaPoly.open(box, using: receivingKey)
        } catch {
            return try fail(.authenticationFailed(frame: receiveCounter))
        }
        let counter = receiveCounter
        receiveCounter += 1
        do {
            return try ShellMessage(decoding: Array(plaintext))
        } catch let problem as ShellMessageError {
            return try fail(.malformedMessage(frame: counter, problem))
        }
    }

    private mutating func fail<T>(_ error: ShellChannelError) throws -> T {
        failure = error
        throw error
    }
}
