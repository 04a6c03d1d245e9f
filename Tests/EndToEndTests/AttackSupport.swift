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
        var resident = 0
        var cpuTicks = 0
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
        var found: [Int32] = []
        var queue = [pid]
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
            let close = text.lastIndex(of: ")")
        else { return nil }
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
        // The first submission brings the key into the server's keyring: not what a probe measures.
        guard try submit().status == 200 else { throw SettingsError("\(name) cannot submit") }
    }

    /// Signs a submission first (the device's own cost), then POSTs it and returns the HTTP
    /// status and the seconds the server took to answer.
    func submit() throws -> (status: Int, seconds: Double) {
        let answer = try submit(plugins: ["probe": .object(["at": .string(RFC3339.string(from: Date()))])])
        return (answer.status, answer.seconds)
    }

    /// A submission of `plugins`, signed and not sent.
    func signedSubmission(plugins: [String: JSONValue] = [:]) throws -> SignedRequest {
        try SignedRequest.make(
            endpoint: .submit,
            fields: ["submission_id": .string(UUID().uuidString), "plugins": .object(plugins)],
            host: client.name, fingerprint: fingerprint, signer: openPGP)
    }

    /// Signs and POSTs a submission of `plugins`; the server's whole answer.
    func submit(plugins: [String: JSONValue]) throws -> RawAnswer {
        let request = try signedSubmission(plugins: plugins)
        return try postRaw(
            server.url, endpoint: "submit", body: request.body,
            signatureHeader: request.signatureHeaderValue, scratch: client.root)
    }
}

/// What the server answered to one request, and how long it took.
struct RawAnswer {
    let status: Int
    let body: String
    let seconds: Double
}

/// POSTs `body` to `endpoint` with curl, as any peer could, and waits up to 60 s for the answer.
func postRaw(
    _ serverURL: String, endpoint: String, body: Data, signatureHeader: String?,
    scratch: String, headers: [String] = []
) throws -> RawAnswer {
    let name = UUID().uuidString.prefix(8)
    let bodyFile = scratch + "/post-\(name).json"
    let answerFile = scratch + "/answer-\(name).json"
    try body.write(to: URL(fileURLWithPath: bodyFile))
    defer {
        try? FileManager.default.removeItem(atPath: bodyFile)
        try? FileManager.default.removeItem(atPath: answerFile)
    }
    // curl's own clock (connect to last byte): the time to start curl is not the server's.
    var arguments = [
        "-s", "-o", answerFile, "-w", "%{http_code} %{time_total}", "--max-time", "60",
        "-H", "Content-Type: application/json", "-H", "Expect:"
    ]
    if let signatureHeader { arguments += ["-H", "\(WireProtocol.signatureHeader): \(signatureHeader)"] }
    for header in headers { arguments += ["-H", header] }
    let result = try runProcess(
        "/usr/bin/curl",
        arguments + [
            "--data-binary", "@" + bodyFile,
            serverURL + "/rookery/v1/" + endpoint
        ], environment: [:])
    let measured = result.stdout.split(separator: " ")
    let answer = (try? String(contentsOfFile: answerFile, encoding: .utf8)) ?? ""
    return RawAnswer(
        status: measured.first.flatMap { Int($0) } ?? 0, body: answer,
        seconds: measured.last.flatMap { Double($0) } ?? .infinity)
}
