import ArgumentParser
import Foundation

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that drive a real server.",
        subcommands: [SubmitBench.self])

    struct SubmitBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "submit",
            abstract: "Signed submissions from simulated devices against a real server.",
            discussion: """
                Starts `rookery server` in a scratch install root on 127.0.0.1, enrolls and accepts
                --devices device keys, signs --requests submissions of a realistic 5-10 KB document
                ahead of time (signing is the devices' cost, not the server's), then sends them at
                --concurrency and reports requests/s, median and p99 latency, and the CPU seconds the
                server side (server, verify workers and their gpg runs) spent per 1,000 submissions,
                measured as the machine's busy time minus the benchmark's own: run it on an idle machine.
                """)

        @Option(help: "Simulated devices.") var devices = 20
        @Option(help: "Requests in flight at once.") var concurrency = 1
        @Option(help: "Submissions to send.") var requests = 1000
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            guard devices > 0, concurrency > 0, requests > 0 else {
                throw ValidationError("--devices, --concurrency and --requests must be positive")
            }
            let result = try await SubmitBenchmark(devices: devices, concurrency: concurrency, requests: requests).run()
            print(json ? result.json : result.text)
        }
    }
}
