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
        for chunk in [Data(try openPGP.exportPublicKey(fingerprint: key).utf8), Data(key.utf8),
                      try openPGP.sign(body, fingerprint: key), body] {
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
        let open = try sandbox.directory("open"), rootOnly = try sandbox.directory("root-only")
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

    @Test(arguments: [["--user", "root"], ["--user", "no-such-user-here"], []])
    func asRootItRefusesToCheckWithoutAnotherUser(arguments: [String]) throws {
        try #require(geteuid() == 0, "these tests run as root, as CI does")
        let sandbox = try Sandbox()
        let (status, answer) = try Self.check(arguments, frames: try Self.request(sandbox), tmpdir: sandbox.path, sandbox: sandbox)
        #expect(status != 0)
        #expect(answer.isEmpty)
    }
}
