import Crypto
import Foundation
import RookeryCore

/// What every store does the same way for remote-shell sessions.
enum ShellSessionStorage {
    /// 128 random bits as 32 lowercase hex digits.
    static func newSessionID() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// How many of a batch numbered from `first` are stored already when `next` is the number the
    /// direction takes next; throws `gap` for a batch that starts past it.
    static func alreadyStored(first: Int64?, next: Int64, count: Int) throws -> Int {
        guard let first else { return 0 }
        guard first <= next else { throw ShellFramesRefused.gap(expected: next, first: first) }
        return Int(min(next - first, Int64(count)))
    }

    /// Checked before any database work: each frame within `ShellFrameBounds`.
    static func checkSizes(_ frames: [Data]) throws {
        if let large = frames.first(where: { $0.count > ShellFrameBounds.maxFrameBytes }) {
            throw ShellFramesRefused.tooLarge(bytes: large.count)
        }
        if let small = frames.first(where: { $0.count < ShellFrameBounds.minFrameBytes }) {
            throw ShellFramesRefused.tooSmall(bytes: small.count)
        }
    }

    /// Throws `full` when `batch` would take the waiting frames past `ShellFrameBounds`.
    static func checkRoom(for batch: [Data], waitingFrames: Int, waitingBytes: Int) throws {
        let addedBytes = batch.reduce(0) { $0 + $1.count }
        guard waitingFrames + batch.count <= ShellFrameBounds.maxWaiting,
            waitingBytes + addedBytes <= ShellFrameBounds.maxWaitingBytes
        else { throw ShellFramesRefused.full(waitingFrames: waitingFrames, waitingBytes: waitingBytes) }
    }

    static func checkAccept(deviceKey: Data, tokenHash: Data) throws {
        guard deviceKey.count == ShellKeyExchange.publicKeySize else {
            throw AdminError.input("the device's shell key must be \(ShellKeyExchange.publicKeySize) bytes, not \(deviceKey.count)")
        }
        guard tokenHash.count == SHA256Digest.byteCount else {
            throw AdminError.input("the token hash must be \(SHA256Digest.byteCount) bytes, not \(tokenHash.count)")
        }
    }

    static func checkRefusal(reason: String) throws {
        guard reason.utf8.count <= ShellMessage.maxReasonCount else {
            throw AdminError.input("a refusal's reason is at most \(ShellMessage.maxReasonCount) bytes")
        }
    }

    /// Why a device cannot have another session, or nil when it may.
    static func refusal(deviceState: String?, fingerprint: String, live: Int, maxOpenPerDevice: Int) -> AdminError? {
        guard let deviceState else { return .notFound("no device has the fingerprint \(fingerprint)") }
        guard deviceState == DeviceState.accepted.rawValue else {
            return .conflict("the device is \(deviceState), not accepted: it gets no shell")
        }
        guard live < maxOpenPerDevice else {
            return .conflict(
                "the device has \(live) shell sessions requested or open already, the most it may have",
                hint: "close one first (client_shell --list, --close ID)")
        }
        return nil
    }

    /// Why the device cannot answer this session, or nil when it may: only the device it was
    /// opened to, only while accepted; another device learns nothing of the session.
    static func answerRefusal(id: String, sessionState: String?, deviceState: String?) -> AdminError? {
        guard let sessionState, let deviceState else { return .notFound("this device has no shell session \(id)") }
        guard deviceState == DeviceState.accepted.rawValue else { return .conflict("the device is \(deviceState), not accepted") }
        guard sessionState == ShellSessionRecord.State.requested.rawValue else {
            return .conflict("the shell session \(id) is \(sessionState) already")
        }
        return nil
    }

    /// A close reason as stored: at most `ShellMessage.maxReasonCount` bytes.
    static func storedReason(_ reason: String) -> String {
        String(reason.utf8.prefix(ShellMessage.maxReasonCount)) ?? "closed"
    }
}

extension ShellDirection {
    /// The suffix of its columns and its `shell_frames.direction` value.
    var column: String {
        switch self {
        case .adminToDevice: "to_device"
        case .deviceToAdmin: "to_admin"
        }
    }
}
