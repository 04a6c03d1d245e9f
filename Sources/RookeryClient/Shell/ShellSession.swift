import CPseudoTerminal
import FoundationEssentials
import RookeryCore

#if canImport(Glibc)
import Glibc
#endif

/// A login shell on a pseudo-terminal of its own, for one remote shell session.
///
/// One thread drives it: put `descriptor` in a poll() set with `pollEvents` and a timeout of at
/// most `pollTimeoutMilliseconds`, call `step(waitingAtMost: .zero)` after each poll, `send` what
/// the admin typed, `resize` when their window changes. `step` returns the shell's output and,
/// last, how the session ended; then the session has closed its terminal, hung up what still ran
/// in it and written its line in the session log. (`step` with a longer wait polls by itself.)
public final class ShellSession {
    public let sessionID: String
    public let account: ShellAccount
    /// The terminal's master side, non-blocking; closed once the session has ended.
    public let descriptor: Int32
    /// The shell, leader of the terminal's session.
    public let pid: pid_t
    /// Bytes written to the shell's terminal, and bytes read from it.
    public private(set) var bytesIn = 0
    public private(set) var bytesOut = 0
    /// Set once the session is over.
    public private(set) var ending: ShellEnding?
    /// Why the session's log line (or transcript) could not be written, if it could not.
    public private(set) var logFailure: ShellSessionError?

    /// Input the shell has not read yet is kept up to this; more is refused.
    public static let maxPendingInput = 64 * 1024
    /// As the server bounds a shell request's command.
    public static let maxCommandCount = 16 * 1024
    /// The shell's PATH, whatever the agent's own is.
    public static let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    /// How long `terminate` waits after SIGHUP before SIGKILL, unless told otherwise.
    public static let defaultGrace: Duration = .seconds(2)
    static let maxSessionIDLength = 64
    static let maxServerKeyLength = 256
    /// Bytes read per step at most, so a shell printing without pause cannot starve the caller.
    static let maxReadPerStep = 256 * 1024
    /// How long a step that has output waits for more before it hands it over, at most, and the
    /// pause after which it stops waiting.
    static let coalesceWindow: Duration = .milliseconds(20)
    static let coalescePause: Duration = .milliseconds(1)
    /// How long a shell that has exited may leave other processes holding its terminal open.
    static let drainGrace: Duration = .seconds(1)
    /// How long a shell that has closed its terminal may take to exit (it normally takes no time;
    /// the bound is for one that closed it and runs on).
    static let exitWait: Duration = .seconds(5)
    /// How often a session waiting in poll looks whether its shell has exited.
    static let exitCheckInterval: Duration = .milliseconds(250)

    private let serverKey: String
    private let command: String?
    private let openedBy: String?
    /// Why the session was ended from outside, when it was (a failed frame, a lost server).
    private var endDetail: String?
    private let idleTimeout: Duration
    private let log: ShellSessionLog
    private let transcript: ShellTranscriptFile?
    private let started = Date()
    private var lastActivity = ContinuousClock.now
    private var pendingInput: [UInt8] = []
    private var pendingStart = 0
    /// The shell's status once it has been collected.
    private var shellStatus: Int32?
    private var drainDeadline: ContinuousClock.Instant?

    /// Starts `account`'s login shell on a new pseudo-terminal of `terminal`'s size. `serverKey`
    /// is the fingerprint of the server key that authorised the session (for the log); the session
    /// ends by itself after `idleTimeout` without input or output.
    ///
    /// With `command`, the account's shell runs `shell -c command` instead of a login shell, and
    /// the session ends with the command's status. `openedBy` (who asked on the server) goes into
    /// the log line.
    public convenience init(
        sessionID: String, account: ShellAccount, terminal: ShellTerminal, idleTimeout: Duration,
        serverKey: String, log: ShellSessionLog, command: String? = nil, openedBy: String? = nil
    ) throws(ShellSessionError) {
        try self.init(
            sessionID: sessionID, account: account, terminal: terminal, idleTimeout: idleTimeout,
            serverKey: serverKey, log: log, command: command, openedBy: openedBy, effectiveUserID: geteuid())
    }

    /// `effectiveUserID` is who this process runs as; tests running as root pass another to see
    /// the refusal an agent not running as root gives.
    init(
        sessionID: String, account: ShellAccount, terminal: ShellTerminal, idleTimeout: Duration,
        serverKey: String, log: ShellSessionLog, command: String? = nil, openedBy: String? = nil,
        effectiveUserID: uid_t
    ) throws(ShellSessionError) {
        try Self.checkRequest(sessionID: sessionID, serverKey: serverKey, idleTimeout: idleTimeout)
        try Self.checkCommand(command)
        // Only root can become someone else; anyone else gets a shell only as themselves.
        let switchIDs = account.uid != effectiveUserID
        if switchIDs && effectiveUserID != 0 {
            throw .notPermitted(account: account.name, uid: account.uid, runningAs: effectiveUserID)
        }
        self.sessionID = sessionID
        self.account = account
        self.serverKey = serverKey
        self.idleTimeout = idleTimeout
        self.log = log
        self.command = command
        self.openedBy = openedBy
        transcript = try log.openTranscript(for: sessionID)

        var slavePath = [CChar](repeating: 0, count: 128)
        let master = rookery_pty_open(terminal.rows, terminal.columns, &slavePath, slavePath.count)
        guard master >= 0 else { throw .terminalFailed(errno: errno) }
        let environment = [
            "HOME=\(account.home)", "USER=\(account.name)", "LOGNAME=\(account.name)", "SHELL=\(account.shell)",
            "PATH=\(Self.path)", "TERM=\(terminal.type)"
        ]
        let argv = Self.arguments(shell: account.shell, command: command).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var failedStep: Int32 = 0
        let groups = account.groups.map { gid_t($0) }
        let pid = groups.withUnsafeBufferPointer { groupList in
            rookery_pty_spawn(
                slavePath, account.shell, argv, envp, account.home, switchIDs ? 1 : 0, account.uid, account.gid,
                groupList.baseAddress, groupList.count, &failedStep)
        }
        guard pid > 0 else {
            let code = errno
            close(master)
            throw .spawnFailed(step: Self.stepName(failedStep, shell: account.shell), errno: code)
        }
        self.descriptor = master
        self.pid = pid
    }

    deinit {
        if ending == nil { _ = terminate(grace: .zero) }
    }

    /// Queues `input` for the shell and writes what its terminal takes now.
    public func send(_ input: [UInt8]) throws(ShellSessionError) {
        guard ending == nil else { throw .ended }
        guard pendingInput.count - pendingStart + input.count <= Self.maxPendingInput else {
            throw .inputOverflow(limit: Self.maxPendingInput)
        }
        pendingInput.append(contentsOf: input)
        flushInput()
    }

    /// Sets the window size; the shell and its programs get SIGWINCH.
    public func resize(rows: UInt16, columns: UInt16) throws(ShellSessionError) {
        guard ending == nil else { throw .ended }
        try ShellTerminal.checkSize(rows: rows, columns: columns)
        guard rookery_pty_resize(descriptor, rows, columns) == 0 else { throw .terminalFailed(errno: errno) }
    }

    /// What to poll `descriptor` for: output, and room for input while some is waiting.
    public var pollEvents: Int16 {
        Int16(POLLIN) | (pendingStart < pendingInput.count ? Int16(POLLOUT) : 0)
    }

    /// The longest a caller may wait in poll before the next `step`: the idle timeout, the end of
    /// the wait for a finished shell's last output, and regular looks at whether the shell exited.
    public var pollTimeoutMilliseconds: Int32 {
        let now = ContinuousClock.now
        var wait = min(Self.exitCheckInterval, lastActivity + idleTimeout - now)
        if let drainDeadline { wait = min(wait, drainDeadline - now) }
        return Int32(max(0, Self.milliseconds(wait)))
    }

    /// Waits up to `timeout` (and at most `pollTimeoutMilliseconds`) for the terminal, then writes
    /// waiting input, reads output, and ends the session when the shell has gone or it was idle.
    public func step(waitingAtMost timeout: Duration) -> [ShellEvent] {
        guard ending == nil else { return [] }
        var ready = pollfd(fd: descriptor, events: pollEvents, revents: 0)
        let wait = min(Self.milliseconds(timeout), Int(pollTimeoutMilliseconds))
        if wait > 0 { _ = poll(&ready, 1, Int32(wait)) }
        flushInput()
        var events: [ShellEvent] = []
        let (output, terminalClosed) = readOutput()
        if !output.isEmpty { events.append(.output(output)) }
        if terminalClosed {
            events.append(.ended(endAfterShell()))
            return events
        }
        collectShell()
        let now = ContinuousClock.now
        if shellStatus != nil && drainDeadline == nil { drainDeadline = now + Self.drainGrace }
        if let drainDeadline, now >= drainDeadline {
            events.append(.ended(endAfterShell()))
        } else if now - lastActivity >= idleTimeout {
            events.append(.ended(stop(reason: .idleTimeout, grace: Self.defaultGrace)))
        }
        return events
    }

    /// Ends the session: SIGHUP to every process on the terminal, SIGKILL to those still there
    /// after `grace`. Returns how it ended (at once when it already had).
    /// `detail` says why, for the log line (the admin closed it, a frame failed to open, ...).
    @discardableResult
    public func terminate(grace: Duration = defaultGrace, because detail: String? = nil) -> ShellEnding {
        if let ending { return ending }
        endDetail = detail.map { String($0.prefix(ShellMessage.maxReasonCount)) }
        return stop(reason: .terminated, grace: grace)
    }

    /// Input queued that the shell's terminal has not taken yet; `send` refuses more than
    /// `maxPendingInput` in all, so a relay takes the admin's keystrokes only while there is room.
    public var pendingInputCount: Int { pendingInput.count - pendingStart }

    // MARK: Input and output

    private func flushInput() {
        while pendingStart < pendingInput.count {
            let count = pendingInput.withUnsafeBufferPointer { buffer in
                write(descriptor, buffer.baseAddress! + pendingStart, buffer.count - pendingStart)
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }  // full (EAGAIN), or the shell's side is gone
            pendingStart += count
            bytesIn += count
            lastActivity = .now
        }
        if pendingStart == pendingInput.count {
            pendingInput.removeAll(keepingCapacity: true)
            pendingStart = 0
        }
    }

    /// Reads what is there now (bounded per step); `closed` when no process holds the terminal's
    /// other side any more (Linux answers EIO).
    private func readOutput() -> (bytes: [UInt8], closed: Bool) {
        var collected: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        let coalescing = ContinuousClock.now + Self.coalesceWindow
        while collected.count < Self.maxReadPerStep {
            let count = read(descriptor, &chunk, chunk.count)
            if count > 0 {
                collected.append(contentsOf: chunk[..<count])
                continue
            }
            if count < 0 && errno == EINTR { continue }
            if count < 0 && errno == EAGAIN {
                // A program printing fast refills the terminal's small buffer within a moment:
                // waiting that moment makes one large batch out of many small ones (each batch is a
                // round trip to the server); a keystroke's echo waits a millisecond at most.
                guard !collected.isEmpty, ContinuousClock.now < coalescing, moreOutputSoon() else { break }
                continue
            }
            record(collected)
            return (collected, true)
        }
        record(collected)
        return (collected, false)
    }

    /// Whether the terminal has output within `coalescePause`.
    private func moreOutputSoon() -> Bool {
        var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&ready, 1, Int32(Self.milliseconds(Self.coalescePause))) > 0 && ready.revents & Int16(POLLIN) != 0
    }

    private func record(_ output: [UInt8]) {
        guard !output.isEmpty else { return }
        bytesOut += output.count
        lastActivity = .now
        transcript?.append(output)
    }

    // MARK: Ending

    /// The shell has closed its terminal or exited: collect its status (waiting a little for a
    /// shell that closed its terminal and has yet to exit) and hang up what it left running.
    private func endAfterShell() -> ShellEnding {
        let deadline = ContinuousClock.now + Self.exitWait
        while shellStatus == nil && ContinuousClock.now < deadline {
            collectShell()
            if shellStatus == nil { usleep(5_000) }
        }
        if shellStatus == nil { return stop(reason: .exited, grace: .zero) }
        SessionMembers.signal(SIGHUP, session: pid)
        return finish(reason: .exited)
    }

    /// SIGHUP to the session, then SIGKILL after `grace` to whatever remains; collects the shell.
    private func stop(reason: ShellEndReason, grace: Duration) -> ShellEnding {
        hangUp(SIGHUP)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            _ = readOutput()  // a program may block writing to a full terminal while it exits
            collectShell()
            if shellStatus != nil && SessionMembers.pids(inSession: pid).isEmpty { break }
            usleep(10_000)
        }
        hangUp(SIGKILL)
        // Nothing survives SIGKILL for long; the bound only guards against a process stuck in the kernel.
        let killDeadline = ContinuousClock.now + .seconds(5)
        while shellStatus == nil && ContinuousClock.now < killDeadline {
            collectShell()
            if shellStatus == nil { usleep(5_000) }
        }
        return finish(reason: reason)
    }

    private func hangUp(_ signal: Int32) {
        if shellStatus == nil { kill(-pid, signal) }
        let foreground = rookery_pty_foreground_group(descriptor)
        if foreground > 0 && (shellStatus == nil || foreground != pid) { kill(-foreground, signal) }
        SessionMembers.signal(signal, session: pid)
    }

    /// Reaps the shell if it has exited: its code, or 128 + signal as shells report it.
    private func collectShell() {
        guard shellStatus == nil else { return }
        var status: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &status, WNOHANG) } while result < 0 && errno == EINTR
        guard result == pid else { return }
        let signal = status & 0x7F
        shellStatus = signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }

    private func finish(reason: ShellEndReason) -> ShellEnding {
        let ending = ShellEnding(status: shellStatus, reason: reason)
        self.ending = ending
        close(descriptor)
        let record = ShellSessionRecord(
            sessionID: sessionID, serverKey: serverKey, account: account.name, uid: account.uid,
            started: RFC3339.string(from: started), ended: RFC3339.string(from: Date()), bytesIn: bytesIn,
            bytesOut: bytesOut, exitStatus: shellStatus, reason: reason, transcript: transcript?.path,
            transcriptTruncated: transcript?.truncated ?? false, openedBy: openedBy, command: command,
            detail: endDetail)
        do {
            try log.append(record)
        } catch {
            logFailure = error
        }
        return ending
    }

    // MARK: Checks and helpers

    private static func checkRequest(sessionID: String, serverKey: String, idleTimeout: Duration) throws(ShellSessionError) {
        let plain = { (byte: UInt8) in
            (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || byte == 0x2D || byte == 0x5F
        }
        // The session id names the transcript file, so it must be a plain name.
        guard !sessionID.isEmpty, sessionID.utf8.count <= maxSessionIDLength, sessionID.utf8.allSatisfy(plain) else {
            throw .badRequest("a session id must be 1 to \(maxSessionIDLength) letters, digits, - or _")
        }
        guard !serverKey.isEmpty, serverKey.utf8.count <= maxServerKeyLength,
            serverKey.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { throw .badRequest("a server key fingerprint must be 1 to \(maxServerKeyLength) printable characters") }
        guard idleTimeout > .zero else { throw .badRequest("the idle timeout must be positive") }
    }

    private static func checkCommand(_ command: String?) throws(ShellSessionError) {
        guard let command else { return }
        // exec takes NUL-terminated strings: a NUL would cut the command short, silently.
        guard !command.isEmpty, command.utf8.count <= maxCommandCount, !command.utf8.contains(0) else {
            throw .badRequest("a command must be 1 to \(maxCommandCount) bytes without NUL")
        }
    }

    /// The shell's argv: a login shell (a leading "-" in argv[0], as login and sshd start it), or
    /// the shell running one command.
    static func arguments(shell: String, command: String?) -> [String] {
        let name = shell.split(separator: "/").last.map(String.init) ?? "sh"
        guard let command else { return ["-" + name] }
        return [name, "-c", command]
    }

    private static func stepName(_ step: Int32, shell: String) -> String {
        switch step {
        case ROOKERY_SPAWN_FORK: return "fork"
        case ROOKERY_SPAWN_SESSION: return "new session"
        case ROOKERY_SPAWN_TERMINAL: return "controlling terminal"
        case ROOKERY_SPAWN_GROUPS: return "supplementary groups"
        case ROOKERY_SPAWN_GID: return "group id"
        case ROOKERY_SPAWN_UID: return "user id"
        default: return "running \(shell)"
        }
    }

    private static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        guard seconds < Int64(Int32.max / 1000) else { return Int(Int32.max) }
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
