import Foundation
import RookeryCore
import RookeryCurl

/// How an admin's shell session ended.
enum AdminShellEnding: Sendable, Equatable {
    /// The remote shell exited with this status (128 + N for a signal).
    case exited(Int32)
    /// It ended without a status: `why` is said to the admin.
    case ended(why: String)
}

/// The admin's end of an open session: what is typed goes to the device as sealed frames, what the
/// device sends comes out on stdout. A thread long-polls for the device's frames while the calling
/// thread reads the keyboard, watches the window size and sends.
///
/// Every frame is opened by `ShellChannel`, which refuses one that was altered, dropped, reordered
/// or replayed; the session then ends on both sides: a sealed `close` goes out on the sending
/// direction (which the fault did not touch) and the server is told to close it.
final class AdminShellRelay {
    let link: ShellLink
    let terminal: AdminTerminal
    /// Shared: the keyboard loop sends data, the receiving thread may send a close.
    private let sender: ShellSender
    private var opener: ShellChannel?
    private let ending = Locked<AdminShellEnding?>(nil)
    /// The receiving thread writes a byte here when the session ended, to wake the keyboard loop.
    private let wake: WakePipe

    init(link: ShellLink, channel: ShellChannel, terminal: AdminTerminal) throws {
        self.link = link
        self.terminal = terminal
        sender = ShellSender(channel: channel, link: link)
        opener = channel
        wake = try WakePipe()
    }

    /// Runs the session until the remote shell exits, the admin types `~.`, or it breaks.
    /// `interactive`: forward the keyboard and window size; else only print what comes back.
    func run(interactive: Bool) -> AdminShellEnding {
        startReceiving()
        if interactive { relayKeyboard() }
        var ready = pollfd(fd: wake.readEnd, events: Int16(POLLIN), revents: 0)
        while ending.withLock({ $0 }) == nil { _ = poll(&ready, 1, 1000) }
        return ending.withLock { $0 } ?? .ended(why: "the session ended")
    }

    // MARK: Device -> admin

    private func startReceiving() {
        let opener = self.opener!
        self.opener = nil
        let link = self.link
        // The thread holds the pipe and the lock: it may outlive this relay while a poll is out.
        let finish: @Sendable (AdminShellEnding, Closing) -> Void = { [sender, ending, wake] outcome, closing in
            switch closing {
            case .alreadyClosed: break
            case .onServer(let reason): _ = try? link.close(reason: reason)
            case .bothWays(let reason): Self.closeBothWays(reason: reason, sender: sender)
            }
            ending.withLock { if $0 == nil { $0 = outcome } }
            wake.signal()
        }
        let thread = Thread { Self.receive(link: link, opener: opener, finish: finish) }
        thread.start()
    }

    /// What is left to close when the receiving side ends the session.
    enum Closing: Sendable {
        /// The server said the session is over, or the device sealed a close.
        case alreadyClosed
        /// The shell exited: the server may forget the session.
        case onServer(reason: String)
        /// A frame failed its check: the device must hear of it, sealed, and the server too.
        case bothWays(reason: String)
    }

    private static func receive(
        link: ShellLink, opener: ShellChannel, finish: @Sendable (AdminShellEnding, Closing) -> Void
    ) {
        var opener = opener
        var after: Int64 = 0
        while true {
            let batch: (frames: [ShellFrame], last: Int64)
            do { batch = try link.receive(after: after) } catch {
                return finish(.ended(why: "\(error)"), .alreadyClosed)
            }
            for frame in batch.frames {
                let message: ShellMessage
                do { message = try opener.open(frame) } catch {
                    let why = "a frame from the device failed its check (\(error)): the session was ended on both sides"
                    return finish(.ended(why: why), .bothWays(reason: "the admin's side refused a frame from the device: \(error)"))
                }
                switch message {
                case .data(let bytes): writeAll(Array(bytes), to: STDOUT_FILENO)
                case .exit(let status):
                    return finish(.exited(Int32(status)), .onServer(reason: "the shell exited with status \(status)"))
                case .close(let reason):
                    let why = "the device ended the session: \(LogText.escaped(reason, limit: 1024))"
                    return finish(.ended(why: why), .onServer(reason: why))
                case .windowSize: continue  // only the admin's side sends sizes
                }
            }
            after = batch.last
        }
    }

    /// Ends the session with `reason`: sealed, to the device, then on the server.
    static func closeBothWays(reason: String, sender: ShellSender) {
        _ = try? sender.send([.close(reason: reason)])
        _ = try? sender.link.close(reason: reason)
    }

    // MARK: Admin -> device

    /// Reads the keyboard until the session ends: `~.` at the start of a line ends it here.
    private func relayKeyboard() {
        var escapes = EscapeFilter()
        var lastSize = terminal.size
        var fds = [
            pollfd(fd: terminal.descriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wake.readEnd, events: Int16(POLLIN), revents: 0)
        ]
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var keyboardOpen = true
        while ending.withLock({ $0 }) == nil {
            fds[0].fd = keyboardOpen ? terminal.descriptor : -1
            // The window size is looked at every tick rather than on SIGWINCH: no signal handler.
            _ = poll(&fds, 2, 100)
            if let size = terminal.size, size.rows != lastSize?.rows || size.columns != lastSize?.columns {
                lastSize = size
                send(.windowSize(rows: size.rows, columns: size.columns))
            }
            guard keyboardOpen, fds[0].revents != 0 else { continue }
            let count = read(terminal.descriptor, &buffer, buffer.count)
            guard count > 0 else {
                // The keyboard's input ended (a pipe): say so as a terminal would, with ^D.
                keyboardOpen = false
                send(.data(Data([4])))
                continue
            }
            let (bytes, ended) = escapes.filter(Array(buffer[0..<count]))
            if !bytes.isEmpty { send(.data(Data(bytes))) }
            if ended {
                Self.closeBothWays(reason: "closed by the admin (~.)", sender: sender)
                ending.withLock { if $0 == nil { $0 = .ended(why: "closed (~.)") } }
            }
        }
    }

    private func send(_ message: ShellMessage) {
        do {
            try sender.send([message])
        } catch {
            ending.withLock { if $0 == nil { $0 = .ended(why: "\(error)") } }
        }
    }

    static func writeAll(_ bytes: [UInt8], to descriptor: Int32) {
        var start = 0
        while start < bytes.count {
            let count = bytes[start...].withUnsafeBufferPointer { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            start += count
        }
    }
}
