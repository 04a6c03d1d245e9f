import Foundation
import RookeryCore

/// Something that checks detached signatures against the server keyring.
public protocol SignatureVerifier: Sendable {
    func verify(signature: Data, data: Data) throws -> VerifiedSignature
}

extension OpenPGP: SignatureVerifier {}

/// Checks signatures in small helper processes (`rookery verify-worker`) instead of in the server.
///
/// GPGME forks a gpg for every check. Forking the large, multi-threaded server costs far more than
/// the check itself (copy-on-write faults and TLB shootdowns on every core), while forking a small
/// single-threaded helper is cheap. Each helper serves one check at a time over its stdin/stdout;
/// one that dies is replaced, and the check is tried once more on a fresh one.
public final class VerifierWorkerPool: SignatureVerifier {
    private let executable: String
    private let homeDirectory: String
    private let idle = Locked<[VerifierWorkerProcess]>([])

    public init(executable: String, homeDirectory: String) {
        self.executable = executable
        self.homeDirectory = homeDirectory
    }

    public func verify(signature: Data, data: Data) throws -> VerifiedSignature {
        do {
            return try verifyOnce(signature: signature, data: data)
        } catch is VerifierWorkerProcess.Broken {
            return try verifyOnce(signature: signature, data: data)
        }
    }

    private func verifyOnce(signature: Data, data: Data) throws -> VerifiedSignature {
        let worker = try idle.withLock { $0.popLast() } ?? VerifierWorkerProcess(executable: executable, home: homeDirectory)
        do {
            let result = try worker.verify(signature: signature, data: data)
            idle.withLock { $0.append(worker) }
            return result
        } catch let refusal as OpenPGPError {
            // gpg said no; the helper itself is fine.
            idle.withLock { $0.append(worker) }
            throw refusal
        } catch {
            worker.stop()
            throw error
        }
    }

    /// Helpers also exit by themselves when the server's end of their pipe closes, even after
    /// a `kill -9` of the server. Not waited for: at the server's exit, Foundation's wait could
    /// spin on a helper whose end it never noticed (seen in `bin/bench submit`, old and new).
    deinit {
        idle.current.forEach { $0.stop(waiting: false) }
    }
}

/// One `rookery verify-worker` process and its pipes. The pool hands it to one check at a time.
final class VerifierWorkerProcess: Sendable {
    struct Broken: Error, CustomStringConvertible { let description: String }

    /// A check that takes longer than this is abandoned and its helper replaced.
    static let answerTimeout: Int32 = 30_000

    private let process = Process()
    private let toWorker = Pipe()
    private let fromWorker = Pipe()

    init(executable: String, home: String) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["verify-worker", "--home", home]
        process.standardInput = toWorker
        process.standardOutput = fromWorker
        do { try process.run() } catch { throw Broken(description: "cannot start \(executable): \(error)") }
    }

    func verify(signature: Data, data: Data) throws -> VerifiedSignature {
        do {
            try toWorker.fileHandleForWriting.write(contentsOf: VerifierFrames.request(signature: signature, data: data))
            var ready = pollfd(fd: fromWorker.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, Self.answerTimeout) == 1 else {
                throw Broken(description: "no answer within \(Self.answerTimeout / 1000) s")
            }
            return try VerifierFrames.readResponse(from: fromWorker.fileHandleForReading)
        } catch let refusal as OpenPGPError {
            throw refusal
        } catch {
            throw Broken(description: "verify worker failed: \(error)")
        }
    }

    /// Closes the helper's input (it exits at end of input) and kills it outright: it inherits the
    /// server's ignored SIGTERM, so terminate() would be waited on forever.
    func stop(waiting: Bool = true) {
        try? toWorker.fileHandleForWriting.close()
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        if waiting { process.waitUntilExit() }
    }
}

/// The helper's side: answers checks from stdin on stdout until stdin closes.
public enum VerifierWorker {
    public static func serve(
        homeDirectory: String, input: FileHandle = .standardInput,
        output: FileHandle = .standardOutput
    ) throws {
        let openPGP = OpenPGP(homeDirectory: homeDirectory)
        openPGP.makeProcessDefault()
        while let (signature, data) = try VerifierFrames.readRequest(from: input) {
            let answer: Data
            do {
                answer = VerifierFrames.response(try openPGP.verify(signature: signature, data: data))
            } catch let error as OpenPGPError {
                answer = VerifierFrames.response(error)
            }
            try output.write(contentsOf: answer)
        }
    }
}

/// Length-prefixed frames between server and helper.
/// Request: u32 signature length, signature, u32 data length, data.
/// Response: u8 status (0 verified, else the `OpenPGPError.Kind` of the failure), u32 length,
/// UTF-8 text ("FPR VALIDITY", or the error's operation and message on two lines).
enum VerifierFrames {
    static let maxFrame = 64 * 1024 * 1024

    static func request(signature: Data, data: Data) -> Data {
        var frame = Data()
        append(signature, to: &frame)
        append(data, to: &frame)
        return frame
    }

    static func readRequest(from input: FileHandle) throws -> (Data, Data)? {
        guard let signature = try readChunk(from: input, allowEOF: true) else { return nil }
        guard let data = try readChunk(from: input, allowEOF: false) else { return nil }
        return (signature, data)
    }

    static func response(_ verified: VerifiedSignature) -> Data {
        var frame = Data([0])
        append(Data("\(verified.fingerprint) \(verified.validity.rawValue)".utf8), to: &frame)
        return frame
    }

    static func response(_ error: OpenPGPError) -> Data {
        var frame = Data([error.kind.rawValue])
        append(Data("\(error.operation)\n\(error.message)".utf8), to: &frame)
        return frame
    }

    static func readResponse(from input: FileHandle, maxPayload: Int = maxFrame) throws -> VerifiedSignature {
        let status = try readExactly(1, from: input)
        guard let payload = try readChunk(from: input, allowEOF: false, max: maxPayload) else { throw truncated }
        let text = String(decoding: payload, as: UTF8.self)
        if status.first != 0 {
            guard let kind = status.first.flatMap(OpenPGPError.Kind.init(rawValue:)) else { throw truncated }
            let parts = text.split(separator: "\n", maxSplits: 1).map(String.init)
            throw OpenPGPError(parts.first ?? "verify", message: parts.count > 1 ? parts[1] : text, kind: kind)
        }
        let fields = text.split(separator: " ").map(String.init)
        guard fields.count == 2, let validity = VerifiedSignature.Validity(rawValue: fields[1]) else { throw truncated }
        return VerifiedSignature(fingerprint: fields[0], validity: validity)
    }

    private static var truncated: Error { VerifierWorkerProcess.Broken(description: "malformed answer from verify worker") }

    static func append(_ chunk: Data, to frame: inout Data) {
        withUnsafeBytes(of: UInt32(chunk.count).bigEndian) { frame.append(contentsOf: $0) }
        frame.append(chunk)
    }

    static func readChunk(from input: FileHandle, allowEOF: Bool, max: Int = maxFrame) throws -> Data? {
        let header = try readExactly(4, from: input, allowEOF: allowEOF)
        guard header.count == 4 else { return nil }
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        guard length <= max else { throw VerifierWorkerProcess.Broken(description: "frame of \(length) bytes") }
        return try readExactly(length, from: input)
    }

    /// Reads exactly `count` bytes; an empty result only at a clean end of input when allowed.
    static func readExactly(_ count: Int, from input: FileHandle, allowEOF: Bool = false) throws -> Data {
        var result = Data()
        while result.count < count {
            guard let chunk = try input.read(upToCount: count - result.count), !chunk.isEmpty else {
                if allowEOF && result.isEmpty { return result }
                throw VerifierWorkerProcess.Broken(description: "verify worker pipe closed")
            }
            result.append(chunk)
        }
        return result
    }
}
