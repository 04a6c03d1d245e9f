import Foundation
import RookeryCore
import Testing

/// `rookery enroll-check`, the process that reads a stranger's key and signature: run as root (as
/// these tests are), it leaves root for the user it is given before it reads anything.
@Suite struct EnrollmentCheckProcessTests {
    /// One enrollment's frames, as the server writes them: public key, fingerprint, signature, body.
    static func request(_ sandbox: Sandbox) throws -> Data {
        let openPGP = OpenPGP(homeDirectory: try sandbox.directory("g-e"))
        try openPGP.prepareHome()
        let key = try openPGP.generateSigningKey(userID: "enrolling")
        let body = Data("{\"host\":\"enrolling\"}".utf8)
        var frame = Data()
        for chunk in [
            Data(try openPGP.exportPublicKey(fingerprint: key).utf8), Data(key.utf8),
            try openPGP.sign(body, fingerprint: key), body
        ] {
            var length = UInt32(chunk.count).bigEndian
            frame += Data(bytes: &length, count: 4) + chunk
        }
        return frame
    }

    /// Runs the check with `frames` on stdin and TMPDIR as given; its status and stdout.
    static func check(_ arguments: [String], frames: Data, tmpdir: String, sandbox: Sandbox) throws -> (Int32, Data) {
        let input = sandbox.path + "/frames.bin"
        try frames.write(to: URL(fileURLWithPath: input))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binaryDirectory + "/rookery")
        process.arguments = ["enroll-check"] + arguments
        process.environment = ["TMPDIR": tmpdir, "PATH": "/usr/bin:/bin"]
        process.standardInput = FileHandle(forReadingAtPath: input)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let answer = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, answer)
    }

    @Test func itChecksAsTheUserItIsGivenAndNeverAsRoot() throws {
        try #require(geteuid() == 0, "these tests run as root, as CI does")
        let sandbox = try Sandbox()
        // nobody may pass through the sandbox, and write only in `open`.
        chmod(sandbox.path, 0o711)
        let open = try sandbox.directory("open")
        let rootOnly = try sandbox.directory("root-only")
        chmod(open, 0o1777)
        chmod(rootOnly, 0o700)
        let frames = try Self.request(sandbox)

        let (status, answer) = try Self.check(["--user", "nobody"], frames: frames, tmpdir: open, sandbox: sandbox)
        #expect(status == 0)
        #expect(answer.first == 0, "the enrollment verified")
        #expect(String(decoding: answer, as: UTF8.self).contains("BEGIN PGP PUBLIC KEY BLOCK"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: open).isEmpty, "its GnuPG home is removed")

        // Root could write in root-only; nobody cannot: the check is not running as root.
        let (refused, nothing) = try Self.check(["--user", "nobody"], frames: frames, tmpdir: rootOnly, sandbox: sandbox)
        #expect(refused != 0 && nothing.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: rootOnly).isEmpty)
    }

    /// A signature that keeps gpg busy for seconds (4,000 copies of one, compressed; the server's
    /// shape check would refuse it first, the checker does not rely on that): at its deadline
    /// the checker and its gpg are killed, and nothing of them is left.
    @Test func atItsDeadlineTheCheckerIsKilledWithItsGPG() throws {
        try #require(geteuid() == 0, "these tests run as root, as CI does")
        let sandbox = try Sandbox()
        chmod(sandbox.path, 0o711)
        let home = try sandbox.directory("home")
        let nobody = try #require(getpwnam("nobody"))
        chown(home, nobody.pointee.pw_uid, nobody.pointee.pw_gid)
        let openPGP = OpenPGP(homeDirectory: try sandbox.directory("g-e"))
        try openPGP.prepareHome()
        let key = try openPGP.generateSigningKey(userID: "slow")
        let body = Data("{}".utf8)
        let bomb = try HostileInputAttackTests.compressedPacket(
            repeating: try openPGP.sign(body, fingerprint: key),
            times: 4_000, scratch: sandbox.path)
        var frames = Data()
        for chunk in [Data(try openPGP.exportPublicKey(fingerprint: key).utf8), Data(key.utf8), bomb, body] {
            var length = UInt32(chunk.count).bigEndian
            frames += Data(bytes: &length, count: 4) + chunk
        }
        let started = Date()
        let (status, answer) = try Self.check(
            ["--user", "nobody", "--timeout", "1", "--home", home],
            frames: frames, tmpdir: sandbox.path, sandbox: sandbox)
        let took = Date().timeIntervalSince(started)
        #expect(status == SIGKILL && answer.isEmpty, "killed, no answer (status \(status))")
        #expect(took < 5, "killed after \(took) s")
        usleep(200_000)
        let left = try runProcess("/usr/bin/pgrep", ["-f", home], environment: [:])
        #expect(left.stdout.isEmpty, "still running: \(left.stdout)")
    }

    @Test(arguments: [["--user", "root"], ["--user", "no-such-user-here"], []])
    func asRootItRefusesToCheckWithoutAnotherUser(arguments: [String]) throws {
        try #require(geteuid() == 0, "these tests run as root, as CI does")
        let sandbox = try Sandbox()
        let (status, answer) = try Self.check(arguments, frames: try Self.request(sandbox), tmpdir: sandbox.path, sandbox: sandbox)
        #expect(status != 0)
        #expect(answer.isEmpty)
    }
}

/// The systemd way: `rookery server --enrollment-check-socket` hands each check to whatever
/// listens there; systemd's socket unit starts one `rookery enroll-check` per connection, as a
/// user of its own. The test plays systemd's part, with `nobody` for the user.
@Suite struct EnrollmentCheckSocketTests {
    /// Accepts connections on `path` and runs one checker per connection, its stdin and stdout
    /// the connection (systemd's Accept=yes with StandardInput=socket).
    final class SocketActivator: Sendable {
        let listener: Int32
        let served = Locked(0)

        init(path: String) throws {
            listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                raw.copyBytes(from: path.utf8)
                raw[path.utf8.count] = 0
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard bound == 0, listen(listener, 8) == 0 else { throw SettingsError("cannot listen on \(path)") }
            Thread { [self] in serve() }.start()
        }

        private func serve() {
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                let checker = Process()
                checker.executableURL = URL(fileURLWithPath: binaryDirectory + "/rookery")
                checker.arguments = ["enroll-check", "--user", "nobody"]
                checker.standardInput = FileHandle(fileDescriptor: connection)
                checker.standardOutput = FileHandle(fileDescriptor: connection)
                checker.standardError = FileHandle.nullDevice
                try? checker.run()
                checker.waitUntilExit()
                close(connection)
                served.withLock { $0 += 1 }
            }
        }

        func stop() {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
        }
    }

    @Test func enrollmentsAreCheckedBehindTheSocketAndRefusedWhenNobodyListens() throws {
        try #require(geteuid() == 0, "the checker switches to nobody, which needs root")
        let sandbox = try Sandbox()
        let socketPath = sandbox.path + "/ec.sock"
        let activator = try SocketActivator(path: socketPath)
        let server = try ServerProcess(sandbox: sandbox)
        server.extraArguments = ["--enrollment-check-socket", socketPath]
        try server.start()

        let laptop = try ClientRoot(sandbox: sandbox, name: "laptop", serverURL: server.url)
        let enrolled = try laptop.run("enroll")
        #expect(enrolled.status == 0, "\(enrolled.stderr)")
        #expect(try server.count("SELECT count(*) FROM devices WHERE hostname = 'laptop' AND state = 'pending'") == 1)
        // The activator counts a connection once its checker has exited: wait for that.
        let deadline = Date().addingTimeInterval(10)
        while activator.served.current < 1, Date() < deadline { usleep(20_000) }
        #expect(activator.served.current == 1, "the check went through the socket")

        // No checker: enrollments fail closed (500, and the device keeps trying), nothing is stored.
        activator.stop()
        try FileManager.default.removeItem(atPath: socketPath)
        let desk = try ClientRoot(sandbox: sandbox, name: "desk", serverURL: server.url)
        let refused = try desk.run("enroll")
        #expect(refused.status != 0)
        #expect(
            refused.stderr.contains("internal_error") || refused.stdout.contains("internal_error"),
            "\(refused.stdout) \(refused.stderr)")
        #expect(try server.count("SELECT count(*) FROM devices WHERE hostname = 'desk'") == 0)
    }
}
