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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["enroll-check", "--timeout", "\(Self.timeout)"] + (user.map { ["--user", $0] } ?? [])
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        do { try process.run() } catch { throw EnrollmentCheckFailed("cannot start \(executable): \(error)") }
        defer { stop(process) }
        try? input.fileHandleForWriting.write(contentsOf: EnrollmentCheckFrames.request(request))
        try? input.fileHandleForWriting.close()
        var ready = pollfd(fd: output.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&ready, 1, Int32(Self.timeout + 2) * 1000) == 1 else {
            throw OpenPGPError("enroll", message: "the check took longer than \(Self.timeout) s")
        }
        do {
            return try EnrollmentCheckFrames.readResponse(from: output.fileHandleForReading)
        } catch is VerifierWorkerProcess.Broken {
            // Killed by its own deadline (SIGKILL): the input's fault. Anything else is ours.
            process.waitUntilExit()
            guard process.terminationReason == .uncaughtSignal else {
                throw EnrollmentCheckFailed("enroll-check exited with \(process.terminationStatus) without an answer")
            }
            throw OpenPGPError("enroll", message: "the check took longer than \(Self.timeout) s")
        }
    }

    /// The helper leads its own process group (it calls setsid), so its gpg goes with it.
    private func stop(_ process: Process) {
        if process.isRunning {
            kill(-process.processIdentifier, SIGKILL)
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }
}

/// The enrollment check could not run at all (the server's problem, not the device's).
public struct EnrollmentCheckFailed: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// The helper's side: `rookery enroll-check`. Leaves root first, arms its own deadline, then
/// reads one request from stdin, answers on stdout and exits.
public enum EnrollmentCheckWorker {
    public static func serve(user: String?, timeout: Int) throws {
        setsid()
        // The deadline holds even if the server cannot signal us (another user): the whole
        // process group, gpg included, is killed.
        signal(SIGALRM) { _ in kill(0, SIGKILL) }
        alarm(UInt32(max(1, timeout)))
        try dropPrivileges(to: user)
        guard let request = try EnrollmentCheckFrames.readRequest(from: .standardInput) else { return }
        var template = Array((NSTemporaryDirectory() + "/rookery-enroll-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw EnrollmentCheckFailed("cannot make a GnuPG home in \(NSTemporaryDirectory())") }
        let answer: Data
        do {
            answer = EnrollmentCheckFrames.response(try EnrollmentCheck.run(request, home: String(cString: made)))
        } catch let error as OpenPGPError {
            answer = VerifierFrames.response(error)
        }
        try FileHandle.standardOutput.write(contentsOf: answer)
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
        return EnrollmentCheckRequest(publicKey: key,
                                      fingerprint: String(decoding: rest[0], as: UTF8.self),
                                      signature: rest[1], body: rest[2])
    }

    static func response(_ result: EnrollmentCheckResult) -> Data {
        var frame = VerifierFrames.response(result.signer)
        VerifierFrames.append(Data(result.publicKey.utf8), to: &frame)
        return frame
    }

    static func readResponse(from input: FileHandle) throws -> EnrollmentCheckResult {
        let signer = try VerifierFrames.readResponse(from: input)
        guard let key = try VerifierFrames.readChunk(from: input, allowEOF: false) else {
            throw EnrollmentCheckFailed("enroll-check answered without the key")
        }
        return EnrollmentCheckResult(signer: signer, publicKey: String(decoding: key, as: UTF8.self))
    }
}
