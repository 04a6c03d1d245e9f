import CPseudoTerminal
import Foundation
import RookeryCore

/// A program run on a pseudo-terminal of the caller's own, as an admin's terminal runs it: the
/// caller types into it, reads what it shows, and changes its window size (end-to-end tests and
/// `bin/bench shell` drive `client_shell` so).
public final class TerminalDriver: Sendable {
    public let process: Process
    private let master: Int32
    private let output = Locked(Data())

    public init(_ executable: String, _ arguments: [String], environment: [String: String], rows: UInt16 = 24, columns: UInt16 = 80) throws {
        var slavePath = [CChar](repeating: 0, count: 128)
        master = rookery_pty_open(rows, columns, &slavePath, slavePath.count)
        guard master >= 0 else { throw SettingsError("cannot open a pseudo-terminal: errno \(errno)") }
        // The master is non-blocking; reading it in a loop below wants it blocking.
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) & ~O_NONBLOCK)
        let path = slavePath.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        guard let slave = FileHandle(forUpdatingAtPath: path) else { throw SettingsError("cannot open \(path)") }
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardInput = slave
        process.standardOutput = slave
        process.standardError = slave
        try process.run()
        try? slave.close()
        let (master, output) = (master, output)
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = read(master, &buffer, buffer.count)
                guard count > 0 else { return }
                output.withLock { $0.append(contentsOf: buffer[0..<count]) }
            }
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        close(master)
    }

    /// Everything shown so far.
    public var shown: String { String(decoding: output.current, as: UTF8.self) }

    public func type(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBufferPointer { write(master, $0.baseAddress, $0.count) }
    }

    public func resize(rows: UInt16, columns: UInt16) {
        _ = rookery_pty_resize(master, rows, columns)
    }

    /// Waits until `text` was shown (true), or `seconds` passed or the program ended (false).
    @discardableResult
    public func waitFor(_ text: String, seconds: TimeInterval = 20) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if shown.contains(text) { return true }
            if !process.isRunning {
                usleep(100_000)
                return shown.contains(text)
            }
            usleep(10_000)
        }
        return false
    }

    /// The program's exit status, once it exited within `seconds`; nil if it did not.
    public func exitStatus(within seconds: TimeInterval = 20) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        return process.isRunning ? nil : process.terminationStatus
    }
}
