import Foundation
import RookeryCore
import RookeryPlugins
import RookeryTestSupport
import Testing

@testable import RookeryClient

/// The device's side of a remote shell: a real login shell (/bin/sh) on a real pseudo-terminal,
/// run as the current user through a sandbox passwd file. Serialized: the descriptor-leak test
/// counts the process's pseudo-terminals, which the other tests here open.
@Suite(.serialized) struct ShellSessionTests {
    let sandbox: Sandbox
    let home: String
    let account: ShellAccount
    let terminal: ShellTerminal
    let log: ShellSessionLog

    init() throws {
        sandbox = try Sandbox()
        home = try sandbox.directory("home/operator")
        let uid = geteuid()
        let gid = getegid()
        try sandbox.write("operator:x:\(uid):\(gid):Operator:\(home):/bin/sh\n", to: "root/etc/passwd")
        try sandbox.write("wheel:x:4242:operator\n", to: "root/etc/group")
        account = try ShellAccount.named("operator", in: SystemRoot(path: sandbox.path + "/root"))
        terminal = try ShellTerminal(type: "xterm-256color", rows: 24, columns: 80)
        log = ShellSessionLog(directory: try sandbox.directory("shell"))
    }

    func start(
        _ id: String = "s1", idle: Duration = .seconds(120), log: ShellSessionLog? = nil
    ) throws -> ShellSession {
        try ShellSession(
            sessionID: id, account: account, terminal: terminal, idleTimeout: idle, serverKey: "AB12CD34EF56",
            log: log ?? self.log)
    }

    /// A session whose shell has printed its prompt, so what is typed next is echoed after it (typed
    /// earlier, the terminal would echo it before the prompt).
    func started(
        _ id: String = "s1", idle: Duration = .seconds(120), log: ShellSessionLog? = nil
    ) throws -> ShellSession {
        let session = try start(id, idle: idle, log: log)
        try #require(!ShellDriver.run(session, until: { !$0.isEmpty }).output.isEmpty, "no prompt")
        return session
    }

    @Test func accountComesFromThePasswdFileUnderTheRoot() {
        #expect(account.name == "operator")
        #expect(account.uid == geteuid())
        #expect(account.home == home)
        #expect(account.shell == "/bin/sh")
        #expect(account.groups == [getegid(), 4242])
        #expect(throws: ShellSessionError.noSuchAccount("nobody-here")) {
            try ShellAccount.named("nobody-here", in: SystemRoot(path: sandbox.path + "/root"))
        }
    }

    @Test func promptArrivesAndEchoRoundTrips() throws {
        let began = ContinuousClock.now
        let session = try started()
        print("shell: prompt after \(ContinuousClock.now - began)")
        try session.send(Array("echo hello\n".utf8))
        // Once in the terminal's echo of the typed line, once as the command's own output. (Counted,
        // not matched as a line: bash's readline may put escape sequences between the two.)
        let echoed = ShellDriver.run(session, until: { ShellDriver.count("hello\r\n", in: $0) >= 2 })
        #expect(ShellDriver.count("hello\r\n", in: echoed.output) == 2)
        session.terminate()
    }

    @Test func exitStatusIsTheShells() throws {
        let exited = try start("exit3")
        try exited.send(Array("exit 3\n".utf8))
        #expect(ShellDriver.run(exited, until: { _ in false }).ending == ShellEnding(status: 3, reason: .exited))

        let killed = try start("kill9")
        try killed.send(Array("kill -9 $$\n".utf8))
        #expect(ShellDriver.run(killed, until: { _ in false }).ending == ShellEnding(status: 137, reason: .exited))
    }

    @Test func windowSizeIsSetAndFollowsResize() throws {
        let session = try started()
        // "S24 80E" appears only in the output, never in the echoed command.
        try session.send(Array("echo S$(stty size)E\n".utf8))
        let first = ShellDriver.run(session, until: { ShellDriver.text($0).contains("S24 80E") })
        #expect(ShellDriver.text(first.output).contains("S24 80E"))
        try session.resize(rows: 40, columns: 100)
        try session.send(Array("echo S$(stty size)E\n".utf8))
        let second = ShellDriver.run(session, until: { ShellDriver.text($0).contains("S40 100E") })
        #expect(ShellDriver.text(second.output).contains("S40 100E"))
        #expect(throws: ShellSessionError.self) { try session.resize(rows: 0, columns: 80) }
        session.terminate()
    }

    @Test func environmentHoldsOnlyTheListedVariables() throws {
        setenv("ROOKERY_SHELL_TEST_SECRET", "must-not-pass", 1)
        let session = try started()
        // The environment the shell was started with, before its profile adds anything.
        try session.send(Array("tr '\\0' '\\n' < /proc/$$/environ; echo E$((40+2))\n".utf8))
        let run = ShellDriver.run(session, until: { ShellDriver.count("E42\r\n", in: $0) > 0 })
        session.terminate()
        let lines = run.output.split(whereSeparator: { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") })
        let variables = lines.map { ShellDriver.text($0) }.filter { line in
            guard let equals = line.firstIndex(of: "=") else { return false }
            return !line[..<equals].isEmpty && line[..<equals].allSatisfy { $0.isUppercase || $0 == "_" || $0.isNumber }
        }
        #expect(
            Set(variables) == [
                "HOME=\(home)", "USER=operator", "LOGNAME=operator", "SHELL=/bin/sh", "PATH=\(ShellSession.path)",
                "TERM=xterm-256color"
            ])
    }

    @Test func idleSessionEnds() throws {
        let session = try start("idle", idle: .seconds(1))
        let began = ContinuousClock.now
        let run = ShellDriver.run(session, until: { _ in false }, within: .seconds(30))
        #expect(run.ending?.reason == .idleTimeout)
        #expect(ContinuousClock.now - began >= .seconds(1))
        #expect(try lastRecord().reason == .idleTimeout)
    }

    @Test func terminateEndsARunningCommandWithinTheGracePeriod() throws {
        let session = try started()
        try session.send(Array("sleep 100\n".utf8))
        // Wait until sleep runs beside the shell in the terminal's session.
        let deadline = ContinuousClock.now + .seconds(30)
        while SessionMembers.pids(inSession: session.pid).count < 2 && ContinuousClock.now < deadline {
            _ = session.step(waitingAtMost: .milliseconds(50))
        }
        #expect(SessionMembers.pids(inSession: session.pid).count >= 2, "sleep did not start")
        let began = ContinuousClock.now
        let ending = session.terminate(grace: .seconds(10))
        // Ended by SIGHUP (129), before the grace period ran out and SIGKILL (137) was needed.
        #expect(ending == ShellEnding(status: 129, reason: .terminated))
        #expect(ContinuousClock.now - began < .seconds(10))
        #expect(SessionMembers.pids(inSession: session.pid).isEmpty)
    }

    @Test func aBackgroundJobDoesNotKeepTheSessionOpen() throws {
        let session = try started()
        // The job holds the terminal open after the shell exits; the session still ends, and hangs it up.
        try session.send(Array("sleep 100 &\nexit 4\n".utf8))
        let run = ShellDriver.run(session, until: { _ in false })
        #expect(run.ending == ShellEnding(status: 4, reason: .exited))
        let deadline = ContinuousClock.now + .seconds(10)
        while !SessionMembers.pids(inSession: session.pid).isEmpty && ContinuousClock.now < deadline { usleep(20_000) }
        #expect(SessionMembers.pids(inSession: session.pid).isEmpty)
    }

    @Test func aMegabyteOfOutputArrivesWhole() throws {
        let session = try started()
        // "\132" is Z: the typed command itself holds none.
        try session.send(Array("head -c 1000000 /dev/zero | tr '\\000' '\\132'; echo; echo E$((40+2))\n".utf8))
        let began = ContinuousClock.now
        let run = ShellDriver.run(
            session, until: { ShellDriver.count("E42\r\n", in: $0.suffix(256)) > 0 }, within: .seconds(120))
        let elapsed = ContinuousClock.now - began
        session.terminate()
        #expect(run.output.filter { $0 == UInt8(ascii: "Z") }.count == 1_000_000)
        print("shell: 1 MB of output in \(elapsed)")
    }

    @Test func anotherAccountIsRefusedUnlessRoot() throws {
        let other = ShellAccount(name: "someone", uid: 4321, gid: 4321, home: home, shell: "/bin/sh")
        let notRoot: uid_t = geteuid() == 0 ? 1000 : geteuid()
        #expect(throws: ShellSessionError.notPermitted(account: "someone", uid: 4321, runningAs: notRoot)) {
            try ShellSession(
                sessionID: "refused", account: other, terminal: terminal, idleTimeout: .seconds(5),
                serverKey: "AB12", log: log, effectiveUserID: notRoot)
        }
        #expect(ShellSessionError.notPermitted(account: "someone", uid: 4321, runningAs: 1000).description.contains("only root"))
        // Nothing started, nothing logged.
        #expect(!FileManager.default.fileExists(atPath: log.path))
    }

    @Test(.enabled(if: geteuid() == 0, "switching accounts needs root"))
    func rootRunsTheShellAsTheAccount() throws {
        let nobody = ShellAccount(name: "nobody", uid: 65534, gid: 65534, home: "/nonexistent", shell: "/bin/sh")
        let session = try ShellSession(
            sessionID: "nobody", account: nobody, terminal: terminal, idleTimeout: .seconds(60), serverKey: "AB12",
            log: log)
        try session.send(Array("echo U$(id -u)G$(id -g)S$(id -G | wc -w)D$(pwd)E\n".utf8))
        let run = ShellDriver.run(session, until: { ShellDriver.text($0).contains("U65534G65534S1D/E") })
        session.terminate()
        #expect(ShellDriver.text(run.output).contains("U65534G65534S1D/E"))
    }

    @Test func inputTheShellDoesNotReadIsBounded() throws {
        let session = try started()
        try session.send(Array("sleep 100\n".utf8))
        let deadline = ContinuousClock.now + .seconds(30)
        while SessionMembers.pids(inSession: session.pid).count < 2 && ContinuousClock.now < deadline {
            _ = session.step(waitingAtMost: .milliseconds(50))
        }
        // The terminal takes some (its buffers), the session keeps up to its limit, then refuses.
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1024)
        var refusal: ShellSessionError?
        for _ in 0..<1000 where refusal == nil {
            do { try session.send(chunk) } catch { refusal = error }
        }
        #expect(refusal == .inputOverflow(limit: ShellSession.maxPendingInput))
        session.terminate()
    }

    @Test func logLineRecordsTheSession() throws {
        let session = try start("logged")
        let input = Array("echo hi\nexit 3\n".utf8)
        try session.send(input)
        let run = ShellDriver.run(session, until: { _ in false })
        #expect(run.ending == ShellEnding(status: 3, reason: .exited))
        let record = try lastRecord()
        #expect(record.sessionID == "logged")
        #expect(record.serverKey == "AB12CD34EF56")
        #expect(record.account == "operator")
        #expect(record.uid == geteuid())
        #expect(record.exitStatus == 3)
        #expect(record.reason == .exited)
        #expect(record.bytesIn == input.count)
        #expect(record.bytesOut == run.output.count)
        #expect(record.transcript == nil)
        let started = try #require(RFC3339.date(from: record.started))
        let ended = try #require(RFC3339.date(from: record.ended))
        #expect(started <= ended)
        #expect(!FileManager.default.fileExists(atPath: log.transcriptPath(for: "logged")))
        #expect(try FileManager.default.attributesOfItem(atPath: log.path)[.posixPermissions] as? Int == 0o600)
    }

    @Test func transcriptKeepsTheOutputWhenAsked() throws {
        let keeping = ShellSessionLog(directory: log.directory, keepsTranscripts: true)
        let session = try start("kept", log: keeping)
        try session.send(Array("echo E$((40+2))\nexit\n".utf8))
        let run = ShellDriver.run(session, until: { _ in false })
        #expect(run.ending?.status == 0)
        let path = keeping.transcriptPath(for: "kept")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(run.output))
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        #expect(try lastRecord().transcript == path)
    }

    /// `--command`: the account's shell runs the command (`sh -c`), not a login shell, and the
    /// session ends with its status; the log line says what ran and who asked.
    @Test func aCommandRunsInPlaceOfTheLoginShell() throws {
        let session = try ShellSession(
            sessionID: "command", account: account, terminal: terminal, idleTimeout: .seconds(120),
            serverKey: "AB12CD34EF56", log: log, command: "echo out-$((6*7)); exit 5", openedBy: "user admin")
        let run = ShellDriver.run(session, until: { _ in false })
        #expect(run.ending == ShellEnding(status: 5, reason: .exited))
        // Not typed, so not echoed: the output appears once, and no prompt precedes it.
        #expect(ShellDriver.text(run.output).hasPrefix("out-42\r\n"), "\(ShellDriver.text(run.output))")
        let record = try lastRecord()
        #expect(record.command == "echo out-$((6*7)); exit 5")
        #expect(record.openedBy == "user admin")
        #expect(ShellSession.arguments(shell: "/bin/bash", command: nil) == ["-bash"])
        #expect(ShellSession.arguments(shell: "/bin/bash", command: "id") == ["bash", "-c", "id"])
        for bad in ["", "echo a\u{0}b", String(repeating: "x", count: ShellSession.maxCommandCount + 1)] {
            #expect(throws: ShellSessionError.self) {
                try ShellSession(
                    sessionID: "bad-command", account: account, terminal: terminal, idleTimeout: .seconds(5),
                    serverKey: "AB12", log: log, command: bad)
            }
        }
    }

    @Test func badRequestsAreRefused() throws {
        #expect(throws: ShellSessionError.self) { try ShellTerminal(type: "xterm\nEVIL=1", rows: 24, columns: 80) }
        #expect(throws: ShellSessionError.self) { try ShellTerminal(type: "xterm", rows: 0, columns: 80) }
        #expect(throws: ShellSessionError.self) { try start("../escape") }
        #expect(throws: ShellSessionError.self) { try start(String(repeating: "a", count: 65)) }
        #expect(throws: ShellSessionError.self) { try start("zero", idle: .zero) }
        #expect(throws: ShellSessionError.self) {
            try ShellAccount.named("bad:name", in: SystemRoot(path: sandbox.path + "/root"))
        }
    }

    @Test func aShellThatCannotStartIsAClearError() throws {
        let broken = ShellAccount(
            name: "operator", uid: account.uid, gid: account.gid, home: home, shell: "/nonexistent/shell")
        let before = terminalDescriptors()
        #expect(throws: ShellSessionError.spawnFailed(step: "running /nonexistent/shell", errno: ENOENT)) {
            try ShellSession(
                sessionID: "broken", account: broken, terminal: terminal, idleTimeout: .seconds(5), serverKey: "AB12",
                log: log)
        }
        #expect(terminalDescriptors() == before)
    }

    @Test func fiftySessionsLeakNoDescriptors() throws {
        let before = terminalDescriptors()
        for index in 0..<50 {
            let session = try start("leak\(index)")
            try session.send(Array("exit 0\n".utf8))
            let run = ShellDriver.run(session, until: { _ in false })
            #expect(run.ending?.status == 0, "session \(index)")
        }
        #expect(terminalDescriptors() == before)
    }

    /// The descriptors of this process that are pseudo-terminals or files in this test's sandbox.
    func terminalDescriptors() -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return entries.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0) }
            .filter { $0 == "/dev/ptmx" || $0.hasPrefix("/dev/pts/") || $0.hasPrefix(sandbox.path) }
            .sorted()
    }

    func lastRecord() throws -> ShellSessionRecord {
        let text = try String(contentsOfFile: log.path, encoding: .utf8)
        let line = try #require(text.split(separator: "\n").last)
        return try JSONDecoder().decode(ShellSessionRecord.self, from: Data(line.utf8))
    }
}

/// Drives a session from the test's thread as the agent will: step, collect, stop at a condition,
/// the end, or a deadline (generous: CI machines are slow and loaded).
enum ShellDriver {
    struct Run {
        var output: [UInt8] = []
        var ending: ShellEnding?
    }

    static func run(_ session: ShellSession, until done: ([UInt8]) -> Bool, within limit: Duration = .seconds(30)) -> Run {
        var run = Run()
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            for event in session.step(waitingAtMost: .milliseconds(100)) {
                switch event {
                case .output(let bytes): run.output += bytes
                case .ended(let ending): run.ending = ending
                }
            }
            if run.ending != nil || done(run.output) { return run }
        }
        return run
    }

    /// How often `needle` occurs in `bytes`, compared byte by byte (a String would treat "\r\n" as
    /// one character).
    static func count(_ needle: String, in bytes: some Collection<UInt8>) -> Int {
        let needle = Array(needle.utf8)
        let bytes = Array(bytes)
        guard bytes.count >= needle.count else { return 0 }
        return (0...(bytes.count - needle.count)).filter { bytes[$0..<($0 + needle.count)].elementsEqual(needle) }.count
    }

    static func text(_ bytes: some Sequence<UInt8>) -> String {
        String(decoding: Array(bytes), as: UTF8.self)
    }
}
