import ArgumentParser
import Foundation

extension BenchCommand {
    struct VerifyBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "What a submission costs the server with many enrolled devices: run with --enrolled 100 and 100000.",
            discussion: """
                Prepares a server root whose database holds --enrolled accepted devices: --devices
                of them real (gpg keys, enrolled through the endpoint), the rest seeded straight into
                SQLite with their own Ed25519 OpenPGP public keys and laptop documents. Then the
                real devices send --requests signed submissions at --concurrency, and it reports
                requests/s, latency, the server's CPU seconds per 1,000 and its peak RSS, as
                `submit` does. Only the number of enrolled devices should change between two runs;
                the signature checks must not grow with it. --root keeps the prepared fleet
                (seeding 100,000 devices takes minutes).
                """)

        @Option(help: "Accepted devices in the database, the real senders included.") var enrolled = 100
        @Option(help: "Real devices among them that send the submissions.") var devices = 10
        @Option(help: "Requests in flight at once.") var concurrency = 16
        @Option(help: "Submissions to send.") var requests = 2000
        @Option(help: "Pad every signed submission to about this many bytes (default: about 6.5 KB).") var documentBytes: Int?
        @Option(help: "Write verify_with: native|gpgme into the server's settings (default: nothing).") var verifyWith: VerifyWith?
        @Option(help: "Keep the prepared fleet in DIR; a later run with the same DIR and --enrolled reuses it.") var root: String?
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            guard devices > 0, requests > 0, concurrency > 0 else {
                throw ValidationError("--devices, --requests and --concurrency must be positive")
            }
            guard enrolled >= devices else { throw ValidationError("--enrolled must be at least --devices (\(devices))") }
            try BenchDocument.checkSize(documentBytes)
            let result = try await VerifyBenchmark(
                enrolled: enrolled, devices: devices, concurrency: concurrency,
                requests: requests, documentBytes: documentBytes,
                verifyWith: verifyWith, keepRoot: root
            ).run()
            print(json ? result.json : result.text)
        }
    }
}
