import Foundation
import RookeryCore

/// HTTP requests sent by curl from a chosen loopback address (127.0.0.1, 127.0.0.2, ... all reach
/// a server on 127.0.0.1, and it sees each as its own client), for guessing attacks.
struct LoopbackGuesser {
    let server: ServerProcess
    /// The address requests come from.
    let source: String
    /// A scratch directory for curl's config and bodies.
    let scratch: String

    /// One answer: HTTP status and the seconds curl waited for it.
    struct Answer {
        let status: Int
        let seconds: Double
    }

    /// `count` GETs of download_release with HTTP Basic `user:password`, all sent at once by one
    /// curl (`--parallel`, a connection each), started and not yet waited for: `finish()` them.
    func startDownloads(_ count: Int, user: String, password: String) throws -> RunningCurl {
        // The credentials go in curl's config file, not on a command line others can read.
        var config = "user = \"\(user):\(password)\"\nwrite-out = \"%{http_code} %{time_total}\\n\"\n"
        for _ in 0..<count {
            config += "url = \"\(server.url)/rookery/v1/download_release\"\noutput = \"/dev/null\"\n"
        }
        let file = scratch + "/curl-\(UUID().uuidString).conf"
        try Data(config.utf8).write(to: URL(fileURLWithPath: file))
        return try RunningCurl([
            "--parallel", "--parallel-immediate", "--parallel-max", "\(max(count, 1))",
            "--interface", source, "-s", "--max-time", "60", "--config", file
        ])
    }

    /// Sends `count` downloads at once and waits for every answer.
    func downloads(_ count: Int, user: String, password: String) throws -> [Answer] {
        try startDownloads(count, user: user, password: password).finish()
    }

    /// POSTs a signed request and waits for the answer.
    func post(_ request: SignedRequest) throws -> Answer {
        let body = scratch + "/body-\(UUID().uuidString).json"
        try request.body.write(to: URL(fileURLWithPath: body))
        let answers = try RunningCurl([
            "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total}\\n", "--max-time", "30", "--interface", source,
            "-H", "Content-Type: application/json",
            "-H", "\(WireProtocol.signatureHeader): \(request.signatureHeaderValue)",
            "--data-binary", "@" + body, "\(server.url)/rookery/v1/\(request.endpoint.rawValue)"
        ]).finish()
        guard let answer = answers.first else { throw SettingsError("curl gave no answer") }
        return answer
    }
}

/// A curl process started and not yet waited for.
final class RunningCurl {
    private let process = Process()
    private let output = Pipe()

    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    var isRunning: Bool { process.isRunning }

    /// Waits for curl; one answer per `write-out` line (status 0: no answer).
    func finish() throws -> [LoopbackGuesser.Answer] {
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text.split(separator: "\n").map { line in
            let fields = line.split(separator: " ")
            return LoopbackGuesser.Answer(
                status: Int(fields.first ?? "") ?? 0,
                seconds: Double(fields.dropFirst().first ?? "") ?? .infinity)
        }
    }
}
