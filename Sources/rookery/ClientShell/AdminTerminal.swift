import CPseudoTerminal
import Foundation

/// The admin's own terminal: raw mode while a shell session runs (every key goes to the device,
/// the local terminal echoes nothing), restored however the session ends, and its window size.
final class AdminTerminal {
    let descriptor: Int32
    private var saved: termios?

    init(descriptor: Int32 = STDIN_FILENO) { self.descriptor = descriptor }

    var isTerminal: Bool { isatty(descriptor) == 1 }

    /// Rows and columns, or nil when the descriptor is not a terminal (or reports zero).
    var size: (rows: UInt16, columns: UInt16)? {
        var rows: UInt16 = 0
        var columns: UInt16 = 0
        guard rookery_terminal_size(descriptor, &rows, &columns) == 0, rows > 0, columns > 0 else { return nil }
        return (rows, columns)
    }

    /// Raw mode: no line editing, no echo, no signals from ^C or ^Z (they go to the remote shell).
    func makeRaw() throws {
        guard isTerminal, saved == nil else { return }
        var settings = termios()
        guard tcgetattr(descriptor, &settings) == 0 else { throw AdminShellError("cannot read the terminal's settings: \(String(cString: strerror(errno)))") }
        saved = settings
        cfmakeraw(&settings)
        guard tcsetattr(descriptor, TCSADRAIN, &settings) == 0 else {
            throw AdminShellError("cannot put the terminal in raw mode: \(String(cString: strerror(errno)))")
        }
    }

    /// Puts back the settings `makeRaw` found; safe to call more than once.
    func restore() {
        guard var settings = saved else { return }
        _ = tcsetattr(descriptor, TCSADRAIN, &settings)
        saved = nil
    }

    deinit { restore() }
}

/// What went wrong on the admin's side of a shell session, said plainly.
struct AdminShellError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
