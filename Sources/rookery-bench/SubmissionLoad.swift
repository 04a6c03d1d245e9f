import Foundation
import RookeryCore
import RookeryCurl
import RookeryServer

/// One measured run: `requests` signed submissions from a fleet, sent to running bench servers
/// at `concurrency`, and what they cost the server side. With several servers (one database),
/// each device sends to one of them, the devices spread evenly.
struct SubmissionLoad {
    let fleet: BenchFleet
    let servers: [BenchServer]
    let requests: Int
    let concurrency: Int
    /// Pad each signed body to about this many bytes; nil: the laptop document as it is.
    let documentBytes: Int?
    /// Each simulated sender keeps one connection open (as a proxy in front of the server
    /// would), instead of a new connection per submission (as devices make).
    var keepAlive = false
    /// "sqlite" or "postgresql", for the report.
    var backend = "sqlite"
    /// The database's own CPU seconds so far (PostgreSQL on this machine); nil: not measured.
    var databaseCPU: @Sendable () -> Double? = { nil }

    struct Result {
        let requests: Int
        let concurrency: Int
        let devices: Int
        let seconds: Double
        let medianMs: Double
        let p99Ms: Double
        let serverProcessCPUSeconds: Double
        let serverSideCPUSeconds: Double
        let loadGeneratorCPUSeconds: Double
        let peakMemoryKB: Int
        let documentBytes: Int
        let tls: Bool
        let keepAlive: Bool
        let backend: String
        let servers: Int
        /// PostgreSQL's own CPU seconds over the run (SQLite runs inside the server process).
        let databaseCPUSeconds: Double?

        var requestsPerSecond: Double { Double(requests) / seconds }
        var cpuPerThousand: Double { serverSideCPUSeconds / Double(requests) * 1000 }
        var processCPUPerThousand: Double { serverProcessCPUSeconds / Double(requests) * 1000 }
        var loadGeneratorCPUPerThousand: Double { loadGeneratorCPUSeconds / Double(requests) * 1000 }
        var databaseCPUPerThousand: Double? { databaseCPUSeconds.map { $0 / Double(requests) * 1000 } }
        /// The database's part of the server side's CPU.
        var databaseShare: Double? { databaseCPUSeconds.map { $0 / max(serverSideCPUSeconds, 0.001) } }

        private var databaseLine: String {
            guard backend != "sqlite" else { return "inside the server process (SQLite)" }
            guard let perThousand = databaseCPUPerThousand, let share = databaseShare else {
                return "PostgreSQL, not on this machine: its CPU is not measured"
            }
            return String(format: "PostgreSQL %.2f s per 1,000 submissions, %.0f%% of the server side", perThousand, share * 100)
        }

        var text: String {
            String(
                format: """
                    submissions: %d from %d devices at concurrency %d over \(tls ? "HTTPS (a new TLS connection each)" : keepAlive ? "plain HTTP, connections kept open" : "plain HTTP (a new connection each)"), all stored, document %d bytes
                    throughput:  %.1f requests/s
                    latency:     median %.1f ms, p99 %.1f ms
                    server CPU:  %.2f s per 1,000 submissions in the server process; %.2f s on the server's whole side (verify helpers and gpg runs included)
                    server RSS:  peak %.1f MB (the largest server process)
                    load:        %.2f s CPU per 1,000 submissions in this load generator, on the same machine

                    """, requests, devices, concurrency, documentBytes, requestsPerSecond, medianMs, p99Ms,
                processCPUPerThousand, cpuPerThousand, Double(peakMemoryKB) / 1024, loadGeneratorCPUPerThousand)
                + "database:    \(backend) with \(servers) server process\(servers == 1 ? "" : "es"); \(databaseLine)"
        }

        var jsonFields: [String: JSONValue] {
            [
                "requests": .integer(Int64(requests)), "concurrency": .integer(Int64(concurrency)),
                "devices": .integer(Int64(devices)),
                "document_bytes": .integer(Int64(documentBytes)), "tls": .bool(tls), "keep_alive": .bool(keepAlive),
                "requests_per_second": .number(requestsPerSecond), "median_ms": .number(medianMs),
                "p99_ms": .number(p99Ms), "server_cpu_seconds_per_1000": .number(cpuPerThousand),
                "server_process_cpu_seconds_per_1000": .number(processCPUPerThousand),
                "server_peak_rss_kb": .integer(Int64(peakMemoryKB)),
                "load_generator_cpu_seconds_per_1000": .number(loadGeneratorCPUPerThousand),
                "backend": .string(backend), "servers": .integer(Int64(servers)),
                "database_cpu_seconds_per_1000": databaseCPUPerThousand.map(JSONValue.number) ?? .null,
                "database_cpu_share": databaseShare.map(JSONValue.number) ?? .null
            ]
        }
    }

    func run() throws -> Result {
        // Signed just before they are sent: a request older than the allowed clock skew is refused.
        let signed = try signAll()
        servers.forEach { $0.resetPeakMemory() }
        let cpuBefore = BenchServer.cpuSeconds(of: servers)
        let databaseBefore = databaseCPU()
        let started = Date()
        let latencies = Locked((milliseconds: [Double](), failures: [String]()))
        // One thread per simulated connection: concurrentPerform would cap them at the core count.
        let workers = DispatchGroup()
        for worker in 0..<concurrency {
            workers.enter()
            Thread.detachNewThread { [keepAlive] in
                // With keep-alive, a connection to each server this sender sends to.
                var connections: [UInt16: KeptConnection] = [:]
                for index in stride(from: worker, to: signed.count, by: concurrency) {
                    let (request, server) = signed[index]
                    if keepAlive, connections[server.port] == nil { connections[server.port] = KeptConnection(port: server.port) }
                    let begin = DispatchTime.now().uptimeNanoseconds
                    let failure = Self.failure(of: request, to: server, over: connections[server.port])
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
        let cpuAfter = BenchServer.cpuSeconds(of: servers)
        let databaseSeconds = databaseCPU().flatMap { after in databaseBefore.map { after - $0 } }
        let (successes, failures) = latencies.current
        // Timings of failed requests would flatter the numbers; a run with failures is no result.
        guard failures.isEmpty else {
            let reasons = Set(failures).sorted().prefix(3).joined(separator: "; ")
            throw AdminError("\(failures.count) of \(signed.count) submissions failed: \(reasons)")
        }
        let sorted = successes.sorted()
        return Result(
            requests: signed.count, concurrency: concurrency, devices: fleet.devices.count,
            seconds: seconds, medianMs: sorted[sorted.count / 2],
            p99Ms: sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))],
            serverProcessCPUSeconds: cpuAfter.server - cpuBefore.server,
            serverSideCPUSeconds: cpuAfter.serverSide - cpuBefore.serverSide,
            loadGeneratorCPUSeconds: cpuAfter.loadGenerator - cpuBefore.loadGenerator,
            peakMemoryKB: servers.map { $0.peakMemoryKB() }.max() ?? 0,
            documentBytes: signed.first?.request.body.count ?? 0, tls: servers[0].caFile != nil, keepAlive: keepAlive,
            backend: backend, servers: servers.count, databaseCPUSeconds: databaseSeconds)
    }

    /// Sends one submission, over `connection` if given; nil when it was stored, else what went wrong.
    private static func failure(of request: SignedRequest, to server: BenchServer, over connection: KeptConnection?) -> String? {
        do {
            let reply =
                try connection?.post(request)
                ?? HTTPTransport.post(
                    url: server.url + WireProtocol.pathPrefix + "submit", body: request.body,
                    headers: [WireProtocol.signatureHeader: request.signatureHeaderValue], timeoutSeconds: 30,
                    caFile: server.caFile)
            return reply.status == 200 ? nil : "HTTP \(reply.status) \(String(decoding: reply.body.prefix(200), as: UTF8.self))"
        } catch {
            return "\(error)"
        }
    }

    /// Signs every request ahead of time, the devices taking turns, on several threads; each
    /// goes to its device's server.
    private func signAll() throws -> [(request: SignedRequest, server: BenchServer)] {
        let devices = fleet.devices
        let started = Date()
        let signed = try BenchFleet.parallel(requests, threads: 8) { index in
            let device = devices[index % devices.count]
            let request = try SignedRequest.make(
                endpoint: .submit, fields: fields(host: device.host, sequence: index),
                host: device.host, fingerprint: device.fingerprint, signer: device.key)
            return (request, servers[index % devices.count % servers.count])
        }
        BenchFleet.log(String(format: "signed %d submissions in %.1f s", requests, Date().timeIntervalSince(started)))
        return signed
    }

    /// A submission's fields, its document padded to reach about `documentBytes` once signed.
    private func fields(host: String, sequence: Int) -> [String: JSONValue] {
        let plugins = BenchDocument.plugins(host: host, sequence: sequence)
        var fields: [String: JSONValue] = [
            "submission_id": .string(UUID().uuidString.lowercased()),
            "collected_at": .string(RFC3339.string(from: Date())),
            "plugins": plugins
        ]
        if let documentBytes {
            // What the signed body holds besides the plugins: the other fields and the envelope.
            let rest =
                JSONValue.object(fields).serializedString.utf8.count - plugins.serializedString.utf8.count
                + Self.envelopeBytes
            fields["plugins"] = BenchDocument.padded(plugins, toBytes: documentBytes - rest)
        }
        return fields
    }

    /// What SignedRequest.make adds to the fields: host, key, sent_at and nonce with their names.
    private static let envelopeBytes = 160
}
