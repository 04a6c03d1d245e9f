import FoundationEssentials
import RookeryCore

/// What the device's receiving thread hands the relay.
public enum ShellInbound: Sendable, Equatable {
    /// A message from the admin, opened.
    case message(ShellMessage)
    /// A frame failed to open (altered, dropped, reordered, replayed or cut): the session ends, and
    /// the admin is told why on the device's own sending channel, which is intact.
    case broken(reason: String)
    /// The server ended the session, refused its calls or was lost: nothing more can be sent.
    case over(reason: String)
}

/// What the relay's caller does after each step: sends `frames` in order (several per call),
/// then, with `closeReason`, calls device/close with it; `finished` once the session is over.
public struct ShellRelayOutput: Sendable {
    public var frames: [ShellFrame] = []
    public var closeReason: String?
    public var finished: ShellEnding?
}

/// The device's end of a remote shell between its two threads: what the admin sent goes into the
/// shell, what the shell printed goes out sealed. It owns the sending channel (the receiving
/// thread owns the opening one) and the session; one thread drives it.
public final class DeviceShellRelay {
    public let session: ShellSession
    private var sender: ShellChannel
    private let idleSeconds: Int

    public init(session: ShellSession, sender: ShellChannel, idleSeconds: Int) {
        self.session = session
        self.sender = sender
        self.idleSeconds = idleSeconds
    }

    /// Whether the shell has taken all earlier input: a data message may hold up to
    /// `ShellMessage.maxDataCount` bytes, which fills `ShellSession.maxPendingInput`, so the caller
    /// takes the next data message only then (back pressure, not loss); other events go ahead.
    public var wantsInput: Bool { session.pendingInputCount == 0 }

    public func take(_ event: ShellInbound) -> ShellRelayOutput {
        guard session.ending == nil else { return ShellRelayOutput() }
        switch event {
        case .message(.data(let bytes)):
            do { try session.send(Array(bytes)) } catch { return end(sending: "the device's shell cannot take input: \(error)") }
            return ShellRelayOutput()
        case .message(.windowSize(let rows, let columns)):
            // A size out of bounds is the admin terminal's mistake, not an attack: the session goes on.
            try? session.resize(rows: rows, columns: columns)
            return ShellRelayOutput()
        case .message(.close(let reason)):
            return ShellRelayOutput(finished: session.terminate(because: "closed by the admin side: \(reason)"))
        case .message(.exit):
            return end(sending: "the admin side sent an exit frame, which only a device sends; the shell session is closed")
        case .broken(let reason):
            return end(sending: reason)
        case .over(let reason):
            return ShellRelayOutput(finished: session.terminate(because: reason))
        }
    }

    /// Runs the shell one step: its output as data frames of at most 64 KiB (what one step read,
    /// so several per send), and how it ended.
    public func step(waitingAtMost timeout: Duration = .zero) -> ShellRelayOutput {
        var output = ShellRelayOutput()
        for event in session.step(waitingAtMost: timeout) {
            switch event {
            case .output(let bytes):
                var start = 0
                while start < bytes.count {
                    let upper = min(bytes.count, start + ShellMessage.maxDataCount)
                    guard let frame = try? sender.seal(.data(Data(bytes[start..<upper]))) else {
                        return end(sending: "the device cannot seal its output: \(sender.failure.map { "\($0)" } ?? "unknown")")
                    }
                    output.frames.append(frame)
                    start = upper
                }
            case .ended(let ending):
                output.finished = ending
                if ending.reason == .idleTimeout {
                    let reason = "no input or output for \(idleSeconds) s: the device closed the shell session"
                    output.closeReason = reason
                    if let frame = try? sender.seal(.close(reason: reason)) { output.frames.append(frame) }
                } else if let frame = try? sender.seal(.exit(status: UInt8(clamping: ending.status ?? 255))) {
                    output.frames.append(frame)
                }
            }
        }
        return output
    }

    /// Ends the session from the device's side: close(reason) on the sending channel, the shell
    /// hung up, and device/close asked for.
    private func end(sending reason: String) -> ShellRelayOutput {
        let bounded = Self.bounded(reason)
        var output = ShellRelayOutput(closeReason: bounded)
        if let frame = try? sender.seal(.close(reason: bounded)) { output.frames.append(frame) }
        output.finished = session.terminate(because: bounded)
        return output
    }

    /// `reason` cut, at a character, to what a close message carries.
    static func bounded(_ reason: String) -> String {
        var text = reason.prefix(ShellMessage.maxReasonCount)
        while text.utf8.count > ShellMessage.maxReasonCount { text = text.dropLast() }
        return String(text)
    }
}
