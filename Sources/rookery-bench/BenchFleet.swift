import Crypto
import Foundation
import RookeryCore
import RookeryCurl
import RookeryServer

/// Devices with Ed25519 keys of their own (`BenchDeviceKey`), enrolled through the server's real
/// `enroll` endpoint and accepted: the senders of the submission benchmarks. `devices.txt` lists
/// them (host, key creation time, secret key), so a kept root (--root) is reused; it lies in the
/// bench's own scratch or kept root, never anywhere a real device's key could be.
struct BenchFleet {
    struct Device {
        let host: String
        let key: BenchDeviceKey
        var fingerprint: String { key.fingerprint }
    }

    let devices: [Device]

    /// The first `count` devices of the fleet in `directory`, making and enrolling those it lacks.
    static func prepare(count: Int, in directory: String, server: BenchServer) async throws -> BenchFleet {
        guard !FileManager.default.fileExists(atPath: directory + "/fleet.txt") else {
            throw AdminError(
                """
                \(directory) holds a fleet of gpg keys made by an earlier rookery-bench (fleet.txt), \
                whose hostnames the new one would clash with; give another --root
                """)
        }
        let list = directory + "/devices.txt"
        var devices = (try? String(contentsOfFile: list, encoding: .utf8))?.split(separator: "\n").compactMap(Self.device) ?? []
        if devices.count < count {
            try checkNatively()
            let now = Date()
            let made = (devices.count..<count).map { number in
                Device(host: "bench-\(number)", key: BenchDeviceKey(userID: "bench-\(number)", created: now))
            }
            let fleet = BenchFleet(devices: made)
            try fleet.enroll(server: server)
            let context = try await ServerContext(root: InstallRoot(path: server.root))
            for device in made { try await context.store.setState(.accepted, fingerprint: device.fingerprint, at: Date()) }
            devices += made
            // Secret keys, if only the bench's own: readable by this user alone.
            try AtomicFile.write(Data(devices.map(Self.line).joined().utf8), to: list, mode: 0o600)
        }
        return BenchFleet(devices: Array(devices.prefix(count)))
    }

    /// The numbers would measure gpg, not the native verifier, if it handed the bench's
    /// signatures to GPGME; so a probe must be one it decides itself.
    private static func checkNatively() throws {
        let key = BenchDeviceKey(userID: "probe", created: Date())
        let body = Data("probe".utf8)
        let verdict = NativeSignatureCheck.verify(
            signature: try key.sign(body, fingerprint: key.fingerprint), data: body,
            key: try NativePublicKey(armored: key.armored))
        guard verdict == .accepted(fingerprint: key.fingerprint) else {
            throw AdminError("the native verifier does not accept the bench's own signatures: \(verdict)")
        }
    }

    private static func line(_ device: Device) -> String {
        let secret = Hex.string(device.key.secret.rawRepresentation)
        return "\(device.host) \(Int(device.key.created.timeIntervalSince1970)) \(secret)\n"
    }

    private static func device(_ line: Substring) -> Device? {
        let parts = line.split(separator: " ")
        guard parts.count == 3, let created = Int(parts[1]), parts[2].count == 64,
            let bytes = Hex.bytes(parts[2]),
            let secret = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes)
        else { return nil }
        let host = String(parts[0])
        return Device(
            host: host,
            key: BenchDeviceKey(
                userID: host, created: Date(timeIntervalSince1970: Double(created)),
                secret: secret))
    }

    /// Enrolls each device through the real endpoint, several at once.
    private func enroll(server: BenchServer) throws {
        let started = Date()
        _ = try Self.parallel(devices.count, threads: 4) { index in
            let device = devices[index]
            // The server checks a few enrollments at a time and answers 503 to the rest; each
            // attempt is signed anew, with a nonce of its own.
            let deadline = Date().addingTimeInterval(60)
            var reply: HTTPReply
            repeat {
                let request = try SignedRequest.make(
                    endpoint: .enroll,
                    fields: ["public_key": .string(device.key.armored), "machine_id": .string("machine-" + device.host)],
                    host: device.host, fingerprint: device.fingerprint, signer: device.key)
                reply = try HTTPTransport.post(
                    url: server.url + WireProtocol.pathPrefix + "enroll", body: request.body,
                    headers: [WireProtocol.signatureHeader: request.signatureHeaderValue], timeoutSeconds: 60,
                    caFile: server.caFile)
                if reply.status == 503 { usleep(20_000) }
            } while reply.status == 503 && Date() < deadline
            guard reply.status == 200 else {
                throw AdminError("enrolling \(device.host) failed: HTTP \(reply.status) \(String(decoding: reply.body.prefix(200), as: UTF8.self))")
            }
        }
        Self.log(String(format: "enrolled %d devices in %.1f s", devices.count, Date().timeIntervalSince(started)))
    }

    /// `body` for 0..<count on `threads` threads, thread t taking t, t + threads, ...; the results
    /// in order, or the first error.
    static func parallel<T: Sendable>(_ count: Int, threads: Int, _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
        let results = Locked([Result<T, Error>?](repeating: nil, count: count))
        let group = DispatchGroup()
        for thread in 0..<min(threads, count) {
            group.enter()
            Thread.detachNewThread {
                for index in stride(from: thread, to: count, by: threads) {
                    let result = Result(catching: { try body(index) })
                    results.withLock { $0[index] = result }
                    if case .failure = result { break }
                }
                group.leave()
            }
        }
        group.wait()
        return try results.current.map { slot in
            guard let slot else { throw AdminError("a parallel step stopped early after another failed") }
            return try slot.get()
        }
    }

    /// Progress on stderr: the results go to stdout.
    static func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
