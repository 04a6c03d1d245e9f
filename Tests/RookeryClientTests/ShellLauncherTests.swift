import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryClient

/// `ShellLauncher`: one detached child per session id, started without waiting for it. The child
/// here is a stand-in script for `rookery-client shell-session` (the real one needs a server):
/// it saves the offer it reads on stdin and holds the session's lock (descriptor 3) while it sleeps.
/// Serialized: one test writing its script while the other spawns could make exec see it busy.
@Suite(.serialized) struct ShellLauncherTests {
    let sandbox: Sandbox
    let root: InstallRoot
    let launcher: ShellLauncher

    static let idA = String(repeating: "a1", count: 16)
    static let idB = String(repeating: "b2", count: 16)

    init() throws {
        sandbox = try Sandbox()
        root = InstallRoot(path: try sandbox.directory("r"))
        _ = try sandbox.directory("r/var/client")
        try writeExecutable(
            // Only the script itself holds the lock (cat gets no descriptor 3): a test that kills
            // it frees the lock at once.
            "#!/bin/sh\ncat 3<&- > \"$ROOKERY_HOME/offer-$$.json\"\necho \"$@\" > \"$ROOKERY_HOME/args-$$\"\nexec sleep 30\n",
            to: sandbox.path + "/child.sh")
        launcher = ShellLauncher(
            root: root, binary: sandbox.path + "/child.sh", log: ClientLog(path: sandbox.path + "/client.log", echoWarnings: false))
    }

    static func offer(_ id: String) -> ShellOffer {
        ShellOffer(sessionID: id, adminKey: Data(repeating: 5, count: 32), openedBy: "user admin", command: "id")
    }

    @Test func oneChildPerSessionStartedWithoutWaiting() throws {
        let began = ContinuousClock.now
        let pids = launcher.launch([Self.offer(Self.idA), Self.offer(Self.idA), Self.offer(Self.idB), Self.offer("../x")])
        let took = ContinuousClock.now - began
        defer { pids.forEach(Self.stop) }
        #expect(pids.count == 2)
        #expect(took < .seconds(2), "\(took)")
        // While the first children run, offering the same sessions again starts nothing.
        #expect(launcher.launch([Self.offer(Self.idA), Self.offer(Self.idB)]).isEmpty)
        for pid in pids {
            #expect(getsid(pid) == pid, "each child leads a session of its own")
        }
        let offers = try waitForFiles(prefix: "offer-", count: 2).map {
            try JSONDecoder().decode(ShellOffer.self, from: Data(contentsOf: URL(fileURLWithPath: $0)))
        }
        #expect(Set(offers.map(\.sessionID)) == [Self.idA, Self.idB])
        #expect(offers.allSatisfy { $0 == Self.offer($0.sessionID) })
        let arguments = try waitForFiles(prefix: "args-", count: 2).map { try String(contentsOfFile: $0, encoding: .utf8) }
        #expect(arguments.allSatisfy { $0 == "shell-session --locked\n" })
    }

    /// Once a child is gone its session may start again, unless it finished (its done marker).
    @Test func aSessionStartsAgainOnlyWhenItsChildIsGoneAndNotDone() throws {
        let first = launcher.launch([Self.offer(Self.idA)])
        #expect(first.count == 1)
        first.forEach(Self.stop)
        // Tried for a while: a process another suite forks meanwhile holds a copy of the lock
        // until it runs its program.
        var again: [pid_t] = []
        let deadline = ContinuousClock.now + .seconds(5)
        while again.isEmpty && ContinuousClock.now < deadline {
            again = launcher.launch([Self.offer(Self.idA)])
            if again.isEmpty { usleep(20_000) }
        }
        #expect(again.count == 1)
        again.forEach(Self.stop)
        _ = FileManager.default.createFile(atPath: ShellLauncher.donePath(root, Self.idA), contents: nil)
        #expect(launcher.launch([Self.offer(Self.idA)]).isEmpty)
    }

    /// A parent started with stdin closed may hold the lock at descriptor 0: the child still gets
    /// that file as descriptor 3, not the /dev/null opened for its stdin. Here descriptor 0 is
    /// borrowed for a moment (nothing in the tests reads stdin) and put back.
    @Test func theChildGetsTheLockEvenWhenItIsDescriptorZero() throws {
        let marker = sandbox.path + "/lock-file"
        _ = FileManager.default.createFile(atPath: marker, contents: nil)
        try writeExecutable(
            "#!/bin/sh\nreadlink /proc/self/fd/3 > \"$ROOKERY_HOME/fd3.tmp\"\nmv \"$ROOKERY_HOME/fd3.tmp\" \"$ROOKERY_HOME/fd3\"\n",
            to: sandbox.path + "/fd3.sh")
        let file = open(marker, O_RDONLY | O_CLOEXEC)
        try #require(file >= 0)
        defer { close(file) }
        let savedStdin = fcntl(0, F_DUPFD_CLOEXEC, 10)
        try #require(dup2(file, 0) == 0)
        let pid = ShellLauncher.spawnDetached(sandbox.path + "/fd3.sh", [], root: root, stdin: nil, extra: 0)
        if savedStdin >= 0 {
            dup2(savedStdin, 0)
            close(savedStdin)
        } else {
            close(0)
        }
        try #require(pid != nil)
        // Waited for by its file, not by waitpid: another suite's reaping may collect the child.
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: root.path + "/fd3") && ContinuousClock.now < deadline { usleep(20_000) }
        let seen = try String(contentsOfFile: root.path + "/fd3", encoding: .utf8)
        let expected = try #require(
            realpath(marker, nil).map { path in
                defer { free(path) }
                return String(cString: path)
            })
        #expect(seen == expected + "\n")
    }

    static func stop(_ pid: pid_t) {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    func waitForFiles(prefix: String, count: Int) throws -> [String] {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let names = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix(prefix) }
            let paths = names.map { root.path + "/" + $0 }
            // A file is complete once its writer moved on: the offer's closing brace, the args' newline.
            let complete = paths.filter { (try? Data(contentsOf: URL(fileURLWithPath: $0)))?.last.map { $0 == 0x7D || $0 == 0x0A } == true }
            if complete.count >= count || ContinuousClock.now > deadline { return complete }
            usleep(20_000)
        }
    }
}

/// Writes an executable through a close-on-exec descriptor. Written otherwise, a process another
/// test starts meanwhile may inherit the descriptor open for writing, and running the file then
/// fails with "text file busy" for as long as that process lives.
func writeExecutable(_ text: String, to path: String) throws {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o755)
    guard descriptor >= 0 else { throw SettingsError("cannot create \(path)") }
    defer { close(descriptor) }
    let bytes = Array(text.utf8)
    guard write(descriptor, bytes, bytes.count) == bytes.count, fchmod(descriptor, 0o755) == 0 else {
        throw SettingsError("cannot write \(path)")
    }
}
