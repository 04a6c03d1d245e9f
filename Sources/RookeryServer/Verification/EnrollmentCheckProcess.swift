import Foundation
import RookeryCore

/// Runs each enrollment check in a new `rookery enroll-check` process: as `user` when the server
/// may switch users (it runs as root), in a GnuPG home of its own that it makes and removes,
/// and killed with everything it started once `timeout` has passed. What a hostile key or
/// signature does to gpg stays in that process.
public struct EnrollmentCheckProcess: EnrollmentChecking {
    let executable: String
    let user: String?
    /// gpg checks one well-formed signature in milliseconds; a check this slow is an attack.
    public static let timeout = 10

    public init(executable: String, user: String?) {
        self.executable = executable
        self.user = user
    }

    public func check(_ request: EnrollmentCheckRequest) throws -> EnrollmentCheckResult {
        // The home is made here and removed here: a checker killed at its deadline cannot.
        let home = try makeHome()
        defer { try? FileManager.default.removeItem(atPath: home) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["enroll-check", "--timeout", "\(Self.timeout)", "--home", home] + (user.map { ["--user", $0] } ?? [])
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        do { try process.run() } catch { throw EnrollmentCheckFailed("cannot start \(executable): \(error)") }
        // The server's own deadline, whatever the checker does to its alarm: past it, the
        // checker and its gpg are killed, and the read below ends.
        let deadline = DispatchWorkItem { Self.kill(process) }
        DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(Self.timeout + 2), execute: deadline)
        defer {
            deadline.cancel()
            Self.kill(process)
            process.waitUntilExit()
        }
        try? input.fileHandleForWriting.write(contentsOf: EnrollmentCheckFrames.request(request))
        try? input.fileHandleForWriting.close()
        do {
            return try EnrollmentCheckFrames.readResponse(from: output.fileHandleForReading)
        } catch is VerifierWorkerProcess.Broken {
            // Killed at a deadline (SIGKILL): the input's fault. Anything else is ours.
            process.waitUntilExit()
            guard process.terminationReason == .uncaughtSignal else {
                throw EnrollmentCheckFailed("enroll-check exited with \(process.terminationStatus) without an answer")
            }
            throw OpenPGPError("enroll", message: "the check took longer than \(Self.timeout) s")
        }
    }

    /// A fresh directory for the checker's GnuPG home, owned by the user it runs as.
    private func makeHome() throws -> String {
        let home = try EnrollmentCheckWorker.makeHome()
        if geteuid() == 0, let user, let entry = getpwnam(user), chown(home, entry.pointee.pw_uid, entry.pointee.pw_gid) != 0 {
            try? FileManager.default.removeItem(atPath: home)
            throw EnrollmentCheckFailed("cannot give \(home) to \(user)")
        }
        return home
    }

    /// The checker leads its own process group (it calls setsid), so its gpg goes with it.
    private static func kill(_ process: Process) {
        guard process.isRunning else { return }
        Foundation.kill(-process.processIdentifier, SIGKILL)
        Foundation.kill(process.processIdentifier, SIGKILL)
    }
}

/// The enrollment check could not run at all (the server's problem, not the device's).
public struct EnrollmentCheckFailed: KindedError {
    public let description: String
    public var kind: ErrorKind { .failed }
    init(_ description: String) { self.description = description }
}

/// The helper's side: `rookery enroll-check`. Leaves root first, arms its own deadline, then
/// reads one request from stdin, answers on stdout and exits.
public enum EnrollmentCheckWorker {
    /// `home`: an empty directory for the GnuPG home, made by the server (else one is made here).
    public static func serve(user: String?, timeout: Int, home: String?) throws {
        setsid()
        // The deadline holds even if the server cannot signal us (another user): the whole
        // process group, gpg included, is killed.
        signal(SIGALRM) { _ in kill(0, SIGKILL) }
        alarm(UInt32(max(1, timeout)))
        try dropPrivileges(to: user)
        guard let request = try EnrollmentCheckFrames.readRequest(from: .standardInput) else { return }
        let answer: Data
        do {
            answer = EnrollmentCheckFrames.response(try EnrollmentCheck.run(request, home: try home ?? makeHome()))
        } catch let error as OpenPGPError {
            answer = VerifierFrames.response(error)
        }
        try FileHandle.standardOutput.write(contentsOf: answer)
    }

    /// A new empty directory in TMPDIR for one check's GnuPG home.
    static func makeHome() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/rookery-enroll-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw EnrollmentCheckFailed("cannot make a GnuPG home in \(NSTemporaryDirectory())") }
        return String(cString: made)
    }

    /// Untrusted OpenPGP is never parsed as root: as root, switch to `user` (or refuse).
    static func dropPrivileges(to user: String?) throws {
        guard geteuid() == 0 else { return }
        guard let user, let entry = getpwnam(user) else {
            throw EnrollmentCheckFailed("running as root, and no user \(user ?? "(none given)") to check enrollments as")
        }
        let (uid, gid) = (entry.pointee.pw_uid, entry.pointee.pw_gid)
        guard uid != 0, setgroups(0, nil) == 0, setgid(gid) == 0, setuid(uid) == 0, setuid(0) != 0 else {
            throw EnrollmentCheckFailed("cannot switch to user \(user) to check enrollments")
        }
        setenv("HOME", "/nonexistent", 1)
    }
}

/// Frames between the server and `rookery enroll-check` (VerifierFrames' chunks).
/// Request: public key, fingerprint, signature, body. Response: status 0, then the signer
/// ("FPR VALIDITY") and the exported key; or VerifierFrames' error response.
enum EnrollmentCheckFrames {
    static func request(_ request: EnrollmentCheckRequest) -> Data {
        var frame = Data()
        for chunk in [request.publicKey, Data(request.fingerprint.utf8), request.signature, request.body] {
            VerifierFrames.append(chunk, to: &frame)
        }
        return frame
    }

    static func readRequest(from input: FileHandle) throws -> EnrollmentCheckRequest? {
        guard let key = try VerifierFrames.readChunk(from: input, allowEOF: true) else { return nil }
        let rest = try (0..<3).map { _ in try VerifierFrames.readChunk(from: input, allowEOF: false) ?? Data() }
        return EnrollmentCheckRequest(
            publicKey: key,
            fingerprint: String(decoding: rest[0], as: UTF8.self),
            signature: rest[1], body: rest[2])
    }

    static func response(_ result: EnrollmentCheckResult) -> Data {
        var frame = VerifierFrames.response(result.signer)
        VerifierFrames.append(Data(result.publicKey.utf8), to: &frame)
        return frame
    }

    /// What a checker may answer: a fingerprint line, or an exported key of a key that was
    /// at most `PublicKeyShape.maxArmoredBytes` armored.
    static let maxAnswer = 64 * 1024

    static func readResponse(from input: FileHandle) throws -> EnrollmentCheckResult {
        let signer = try VerifierFrames.readResponse(from: input, maxPayload: maxAnswer)
        guard let key = try VerifierFrames.readChunk(from: input, allowEOF: false, max: maxAnswer) else {
            throw EnrollmentCheckFailed("enroll-check answered without the key")
        }
        return EnrollmentCheckResult(signer: signer, publicKey: String(decoding: key, as: UTF8.self))
    }
}
