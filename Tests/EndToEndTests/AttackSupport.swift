import Foundation
import RookeryCore

/// What a process and everything it started (verify helpers, their gpg runs) cost so far, read
/// from /proc: resident memory now, and CPU time used (including reaped children).
struct ProcessTree {
    let residentBytes: Int
    let cpuSeconds: Double

    /// The process `pid` and its descendants, as /proc shows them at this moment.
    static func usage(of pid: Int32) -> ProcessTree {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        var resident = 0, cpuTicks = 0
        for member in descendants(of: pid) + [pid] {
            guard let stat = statFields(member) else { continue }
            // Fields after the command: state is [0]; utime [11], stime [12], cutime [13],
            // cstime [14]; rss (pages) [21].
            cpuTicks += (11...14).compactMap { Int(stat[$0]) }.reduce(0, +)
            resident += (Int(stat[21]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
        }
        return ProcessTree(residentBytes: resident, cpuSeconds: Double(cpuTicks) / ticks)
    }

    /// The resident memory of `pid` alone, in bytes.
    static func residentBytes(of pid: Int32) -> Int {
        guard let stat = statFields(pid) else { return 0 }
        return (Int(stat[21]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    private static func descendants(of pid: Int32) -> [Int32] {
        var parents: [Int32: [Int32]] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let child = Int32(entry), let stat = statFields(child), let parent = Int32(stat[1]) else { continue }
            parents[parent, default: []].append(child)
        }
        var found: [Int32] = [], queue = [pid]
        while let next = queue.popLast() {
            let children = parents[next] ?? []
            found += children
            queue += children
        }
        return found
    }

    /// /proc/PID/stat after the command name (which may hold spaces), split on spaces.
    private static func statFields(_ pid: Int32) -> [String]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ").map(String.init)
        return fields.count > 21 ? fields : nil
    }
}

/// A normal, accepted device that keeps working while a test attacks the server: it signs a real
/// submission with its own key and times how long the server takes to answer it.
struct NormalDevice {
    let client: ClientRoot
    let server: ServerProcess
    let fingerprint: String
    private let openPGP: OpenPGP

    init(server: ServerProcess, sandbox: Sandbox, name: String = "normal") throws {
        client = try server.acceptedClient(sandbox: sandbox, name: name, collections: 0)
        self.server = server
        openPGP = OpenPGP(homeDirectory: client.root + "/var/client/gnupg")
        guard let key = try openPGP.secretKeyFingerprints().first else { throw SettingsError("\(name) has no key") }
        fingerprint = key
    }

    /// Signs a submission first (the device's own cost), then POSTs it and returns the HTTP
    /// status and the seconds the server took to answer.
    func submit() throws -> (status: Int, seconds: Double) {
        let request = try SignedRequest.make(
            endpoint: .submit,
            fields: ["submission_id": .string(UUID().uuidString),
                     "plugins": .object(["probe": .object(["at": .string(RFC3339.string(from: Date()))])])],
            host: client.name, fingerprint: fingerprint, signer: openPGP)
        return try post(request)
    }

    private func post(_ request: SignedRequest) throws -> (status: Int, seconds: Double) {
        let bodyFile = client.root + "/probe-body.json"
        try request.body.write(to: URL(fileURLWithPath: bodyFile))
        let started = Date()
        let result = try runProcess("/usr/bin/curl", [
            "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30",
            "-H", "Content-Type: application/json",
            "-H", "\(WireProtocol.signatureHeader): \(request.signatureHeaderValue)",
            "--data-binary", "@" + bodyFile, server.url + "/rookery/v1/submit",
        ], environment: [:])
        return (Int(result.stdout) ?? 0, Date().timeIntervalSince(started))
    }
}
