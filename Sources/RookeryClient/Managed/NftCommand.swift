import FoundationEssentials
import RookeryCore

#if canImport(Glibc)
import Glibc
#endif

/// One run of the nft binary with a hard timeout, for `FirewallApplier`.
struct NftCommand {
    /// How one run ended.
    enum Result: Equatable {
        /// nft exited 0; what it printed on stdout.
        case succeeded(String)
        /// nft exited non-zero or was killed by a signal; its status and what it said on stderr.
        case failed(status: Int32, message: String)
        /// nft was still running at the deadline and was killed.
        case timedOut
        /// nft could not be started at all (missing, not executable).
        case notStarted(String)
    }

    let executable: String
    let timeout: TimeInterval

    /// A listing of one table is small; anything past this is not an answer worth keeping.
    static let outputLimit = 4 << 20

    /// nft gets no part of the client's environment: only a language, so its messages are the
    /// untranslated ones, and a fixed PATH.
    static let environment = [
        "LC_ALL": "C", "LANG": "C", "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    ]

    func run(_ arguments: [String]) -> Result {
        let child: ChildProcess
        do {
            child = try start(arguments)
        } catch {
            return .notStarted("\(error)")
        }
        let deadline = Date().addingTimeInterval(timeout)
        let output = child.readOutput(limit: Self.outputLimit, until: deadline)
        let termination = output == nil ? nil : child.waitForExit(until: deadline)
        // nft runs in a group of its own, so this also ends anything it (or a wrapper) started.
        child.stop()
        guard let output, let termination else { return .timedOut }
        if termination == .exited(0) { return .succeeded(String(decoding: output.stdout, as: UTF8.self)) }
        let message = String(decoding: output.stderr, as: UTF8.self).trimmingWhitespace()
        return .failed(status: termination.status, message: message)
    }

    /// Like `PluginProcess.start`: a file written moments ago may still be open for writing in a
    /// child another thread forked and has not exec'd yet, and starting it then fails with ETXTBSY.
    private func start(_ arguments: [String]) throws -> ChildProcess {
        for _ in 0..<20 {
            if let child = ChildProcess.spawn(
                executable, arguments, environment: Self.environment,
                ownProcessGroup: true, captureStandardError: true)
            {
                return child
            }
            guard errno == ETXTBSY else { break }
            usleep(50_000)
        }
        throw AtomicFile.posixError("start \(executable)")
    }
}
