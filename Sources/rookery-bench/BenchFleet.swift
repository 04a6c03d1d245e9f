import Foundation
import RookeryCore
import RookeryCurl
import RookeryServer

/// Devices with real gpg keys, enrolled through the server's real `enroll` endpoint and accepted:
/// the senders of the submission benchmarks. The keys live in a few GnuPG homes, many to a home
/// (a thousand devices need not start a thousand gpg-agents), so that one gpg run per home can
/// make keys at the same time: gpg runs that write one keyring at once lose its lock and fail.
/// `fleet.txt` lists the devices, so a kept root (--root) is reused.
struct BenchFleet {
    struct Device {
        let host: String
        let fingerprint: String
        /// Which of `homes` holds its secret key.
        let home: Int
    }

    let homes: [OpenPGP]
    let devices: [Device]

    func signer(of device: Device) -> OpenPGP { homes[device.home] }

    /// As many as key-making gpg runs that pay off on a small machine: each mostly waits for its
    /// process to start and for its agent.
    static let homeCount = 8

    /// The first `count` devices of the fleet in `directory`, making and enrolling those it lacks.
    static func prepare(count: Int, in directory: String, server: BenchServer, scratch: BenchScratch) async throws -> BenchFleet {
        let homes = try (0..<homeCount).map { index in
            let home = OpenPGP(homeDirectory: directory + "/keys\(index)")
            try home.prepareHome()
            scratch.track(home)
            return home
        }
        // The first home skips a `gpg --version` run per operation; the others pay it.
        _ = homes[0].makeProcessDefault()
        let list = directory + "/fleet.txt"
        var devices = (try? String(contentsOfFile: list, encoding: .utf8))?.split(separator: "\n").compactMap { line -> Device? in
            let parts = line.split(separator: " ")
            guard parts.count == 3, let home = Int(parts[2]), homes.indices.contains(home) else { return nil }
            return Device(host: String(parts[0]), fingerprint: String(parts[1]), home: home)
        } ?? []
        if devices.count < count {
            let made = try makeKeys(numbers: devices.count..<count, in: homes)
            let fleet = BenchFleet(homes: homes, devices: made)
            try fleet.enroll(server: server)
            let context = try ServerContext(root: InstallRoot(path: server.root))
            for device in made { try await context.store.setState(.accepted, fingerprint: device.fingerprint, at: Date()) }
            devices += made
            try devices.map { "\($0.host) \($0.fingerprint) \($0.home)\n" }.joined()
                .write(toFile: list, atomically: true, encoding: .utf8)
        }
        return BenchFleet(homes: homes, devices: Array(devices.prefix(count)))
    }

    /// One ed25519 key per device number, device n's in home n % homeCount: one thread per home,
    /// each making its keys one after the other.
    private static func makeKeys(numbers: Range<Int>, in homes: [OpenPGP]) throws -> [Device] {
        let started = Date()
        let made = try parallel(numbers.count, threads: homes.count) { offset in
            let number = numbers.lowerBound + offset
            let host = "bench-\(number)", home = number % homes.count
            return Device(host: host, fingerprint: try homes[home].generateSigningKey(userID: host), home: home)
        }
        log(String(format: "made %d device keys in %.1f s (%d GnuPG homes at once)", numbers.count,
                   Date().timeIntervalSince(started), homes.count))
        return made
    }

    /// Enrolls each device through the real endpoint, several at once.
    private func enroll(server: BenchServer) throws {
        let started = Date()
        _ = try Self.parallel(devices.count, threads: 4) { index in
            let device = devices[index]
            let keys = signer(of: device)
            let publicKey = try keys.exportPublicKey(fingerprint: device.fingerprint)
            // The server checks a few enrollments at a time and answers 503 to the rest; each
            // attempt is signed anew, with a nonce of its own.
            let deadline = Date().addingTimeInterval(60)
            var reply: HTTPReply
            repeat {
                let request = try SignedRequest.make(
                    endpoint: .enroll,
                    fields: ["public_key": .string(publicKey), "machine_id": .string("machine-" + device.host)],
                    host: device.host, fingerprint: device.fingerprint, signer: keys)
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
    static func parallel<T>(_ count: Int, threads: Int, _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
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
