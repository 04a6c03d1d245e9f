import Foundation
import RookeryClient
import RookeryCore
import RookeryServer
import RookeryCurl

/// `rookery bench submit`: see BenchCommand for what it measures.
struct SubmitBenchmark {
    let devices: Int
    let concurrency: Int
    let requests: Int
    /// Over HTTPS with a pinned self-signed certificate; each request a new connection and handshake.
    var tls = false

    struct Result {
        let requests: Int
        let concurrency: Int
        let seconds: Double
        let medianMs: Double
        let p99Ms: Double
        let serverProcessCPUSeconds: Double
        let serverSideCPUSeconds: Double
        let documentBytes: Int
        let tls: Bool

        var requestsPerSecond: Double { Double(requests) / seconds }
        var cpuPerThousand: Double { serverSideCPUSeconds / Double(requests) * 1000 }
        var processCPUPerThousand: Double { serverProcessCPUSeconds / Double(requests) * 1000 }

        var text: String {
            String(format: """
                submissions: %d at concurrency %d over \(tls ? "HTTPS (a new TLS connection each)" : "plain HTTP"), all stored, document %d bytes
                throughput:  %.1f requests/s
                latency:     median %.1f ms, p99 %.1f ms
                server CPU:  %.2f s per 1,000 submissions (server, verify workers, gpg; the server process alone %.2f s)
                """, requests, concurrency, documentBytes, requestsPerSecond, medianMs, p99Ms,
                cpuPerThousand, processCPUPerThousand)
        }

        var json: String {
            JSONValue.object([
                "requests": .integer(Int64(requests)), "concurrency": .integer(Int64(concurrency)),
                "document_bytes": .integer(Int64(documentBytes)), "tls": .bool(tls),
                "requests_per_second": .number(requestsPerSecond), "median_ms": .number(medianMs),
                "p99_ms": .number(p99Ms), "server_cpu_seconds_per_1000": .number(cpuPerThousand),
                "server_process_cpu_seconds_per_1000": .number(processCPUPerThousand),
            ]).serializedString
        }
    }

    func run() async throws -> Result {
        let scratch = try BenchScratch()
        defer { scratch.cleanUp() }
        let server = try BenchServer(root: scratch.path + "/srv", tls: tls)
        defer { server.stop() }
        let fleet = try await enrollFleet(scratch: scratch, server: server)
        let signed = try signAll(fleet)

        let cpuBefore = server.cpuSeconds()
        let started = Date()
        let latencies = Locked((milliseconds: [Double](), failures: [String]()))
        // One thread per simulated connection: concurrentPerform would cap them at the core count.
        let workers = DispatchGroup()
        for worker in 0..<concurrency {
            workers.enter()
            Thread.detachNewThread {
                for index in stride(from: worker, to: signed.count, by: concurrency) {
                    let begin = DispatchTime.now().uptimeNanoseconds
                    let failure = Self.failure(of: signed[index], to: server)
                    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e6
                    latencies.withLock { record in
                        if let failure { record.failures.append(failure) } else { record.milliseconds.append(elapsed) }
                    }
                }
                workers.leave()
            }
        }
        workers.wait()
        let seconds = Date().timeIntervalSince(started)
        let cpuAfter = server.cpuSeconds()
        let (successes, failures) = latencies.current
        // Timings of failed requests would flatter the numbers; a run with failures is no result.
        guard failures.isEmpty else {
            let reasons = Set(failures).sorted().prefix(3).joined(separator: "; ")
            throw AdminError("\(failures.count) of \(signed.count) submissions failed: \(reasons)")
        }
        let sorted = successes.sorted()
        return Result(requests: signed.count, concurrency: concurrency,
                      seconds: seconds, medianMs: sorted[sorted.count / 2],
                      p99Ms: sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))],
                      serverProcessCPUSeconds: cpuAfter.server - cpuBefore.server,
                      serverSideCPUSeconds: cpuAfter.serverSide - cpuBefore.serverSide, documentBytes: signed.first?.body.count ?? 0, tls: tls)
    }

    /// Sends one submission; nil when it was stored, else what went wrong.
    private static func failure(of request: SignedRequest, to server: BenchServer) -> String? {
        do {
            let reply = try HTTPTransport.post(
                url: server.url + WireProtocol.pathPrefix + "submit", body: request.body,
                headers: [WireProtocol.signatureHeader: request.signatureHeaderValue], timeoutSeconds: 30,
                caFile: server.caFile)
            return reply.status == 200 ? nil : "HTTP \(reply.status) \(String(decoding: reply.body.prefix(200), as: UTF8.self))"
        } catch {
            return "\(error)"
        }
    }

    private struct SimulatedDevice {
        let host: String
        let fingerprint: String
        let openPGP: OpenPGP
    }

    /// Makes device keys, enrolls each through the real endpoint, and accepts them in the store.
    private func enrollFleet(scratch: BenchScratch, server: BenchServer) async throws -> [SimulatedDevice] {
        var fleet: [SimulatedDevice] = []
        for index in 0..<devices {
            let openPGP = OpenPGP(homeDirectory: scratch.path + "/d\(index)")
            try openPGP.prepareHome()
            scratch.track(openPGP)
            let host = "bench-\(index)"
            let fingerprint = try openPGP.generateSigningKey(userID: host)
            let enroll = try SignedRequest.make(
                endpoint: .enroll,
                fields: ["public_key": .string(try openPGP.exportPublicKey(fingerprint: fingerprint)),
                         "machine_id": .string("bench-machine-\(index)")],
                host: host, fingerprint: fingerprint, signer: openPGP)
            let reply = try HTTPTransport.post(
                url: server.url + WireProtocol.pathPrefix + "enroll", body: enroll.body,
                headers: [WireProtocol.signatureHeader: enroll.signatureHeaderValue], timeoutSeconds: 30,
                caFile: server.caFile)
            guard reply.status == 200 else { throw AdminError("enrollment failed with \(reply.status)") }
            fleet.append(SimulatedDevice(host: host, fingerprint: fingerprint, openPGP: openPGP))
        }
        let context = try ServerContext(root: InstallRoot(path: server.root))
        for device in fleet { try await context.store.setState(.accepted, fingerprint: device.fingerprint, at: Date()) }
        return fleet
    }

    /// Signs every request ahead of time, one thread per device.
    private func signAll(_ fleet: [SimulatedDevice]) throws -> [SignedRequest] {
        let slots = Locked([SignedRequest?](repeating: nil, count: requests))
        DispatchQueue.concurrentPerform(iterations: fleet.count) { deviceIndex in
            let device = fleet[deviceIndex]
            for index in stride(from: deviceIndex, to: requests, by: fleet.count) {
                let fields: [String: JSONValue] = [
                    "submission_id": .string(UUID().uuidString.lowercased()),
                    "collected_at": .string(RFC3339.string(from: Date())),
                    "plugins": BenchDocument.plugins(host: device.host, sequence: index),
                ]
                let request = try? SignedRequest.make(endpoint: .submit, fields: fields, host: device.host,
                                                      fingerprint: device.fingerprint, signer: device.openPGP)
                slots.withLock { $0[index] = request }
            }
        }
        let signed = slots.current.compactMap { $0 }
        guard signed.count == requests else { throw AdminError("signing failed for \(requests - signed.count) requests") }
        return signed
    }
}
