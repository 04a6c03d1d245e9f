import ArgumentParser
import Foundation
import RookeryCore

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Benchmarks that drive a real server.",
        subcommands: [SubmitBench.self, CronBench.self, ReleaseBench.self, AuditBench.self])

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
                With --tls the server listens on HTTPS with a self-signed certificate the senders pin,
                and every submission makes a new connection and handshake, as a device's cron run does.
                """)

        @Option(help: "Simulated devices.") var devices = 20
        @Option(help: "Requests in flight at once.") var concurrency = 1
        @Option(help: "Submissions to send.") var requests = 1000
        @Flag(help: "Send over HTTPS (TLS) instead of plain HTTP.") var tls = false
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            guard devices > 0, concurrency > 0, requests > 0 else {
                throw ValidationError("--devices, --concurrency and --requests must be positive")
            }
            let result = try await SubmitBenchmark(devices: devices, concurrency: concurrency, requests: requests, tls: tls).run()
            print(json ? result.json : result.text)
        }
    }

    struct CronBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cron",
            abstract: "What client-cron costs a device when nothing is due: wall time and peak RSS.",
            discussion: """
                Runs `rookery-client cron` --runs times in a scratch install root whose last collection
                and submission were a moment ago, and reports the median, p90 and max wall time and the
                peak resident memory (from wait4). Measure the release client (bin/build-release).
                """)

        @Option(help: "The rookery-client binary (default: the one beside this binary).") var client: String?
        @Option(help: "How many runs.") var runs = 200
        @Flag(help: "Print the result as JSON.") var json = false

        func run() throws {
            guard runs > 0 else { throw ValidationError("--runs must be positive") }
            let binary = client ?? (InstallRoot.currentExecutable as NSString).deletingLastPathComponent + "/rookery-client"
            guard FileManager.default.isExecutableFile(atPath: binary) else {
                throw ValidationError("no client binary at \(binary); pass --client PATH")
            }
            let result = try CronBenchmark(clientBinary: binary, runs: runs).run()
            print(json ? result.json : result.text)
        }
    }

    struct ReleaseBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "release",
            abstract: "Release size, and what installing an update costs a device.",
            discussion: """
                Starts `rookery server` in a scratch root, enrolls one device that pins its key, then                 --runs times publishes a release of --client and the checkout's client files and times                 the device's `rookery-client update`: signed answer, download over 127.0.0.1, signature                 and hash checks, unpack and switch. Reports the tarball and unpacked sizes, the median                 and max time, and the peak RSS.
                """)

        @Option(help: "The rookery-client binary to ship and run (default: the one beside this binary).") var client: String?
        @Option(help: "How many releases to install.") var runs = 5
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            guard runs > 0 else { throw ValidationError("--runs must be positive") }
            let binary = client ?? (InstallRoot.currentExecutable as NSString).deletingLastPathComponent + "/rookery-client"
            guard FileManager.default.isExecutableFile(atPath: binary) else {
                throw ValidationError("no client binary at \(binary); pass --client PATH")
            }
            let result = try await ReleaseBenchmark(clientBinary: binary, source: InstallRoot.fromEnvironment().path,
                                                    runs: runs).run()
            print(json ? result.json : result.text)
        }
    }

    struct AuditBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "audit",
            abstract: "The issues audit over a large stored fleet: wall time and peak RSS.",
            discussion: """
                Seeds --devices accepted devices with realistic documents into a scratch root's SQLite
                file, with the install root's server/issues.yml, then runs `rookery issues audit --cron`
                twice under GNU time (the first pass opens the issues, the second is the steady hourly
                run). Target: 100,000 devices in under 10 s, with memory that does not grow with the fleet.
                """)

        @Option(help: "Stored devices.") var devices = 10_000
        @Option(help: "Build the fleet in DIR and keep it; a later run with the same DIR reuses it.") var root: String?
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            guard devices > 0 else { throw ValidationError("--devices must be positive") }
            let issues = InstallRoot.fromEnvironment().path + "/server/issues.yml"
            guard FileManager.default.fileExists(atPath: issues) else { throw ValidationError("no checks at \(issues)") }
            let result = try await AuditBenchmark(devices: devices, issuesFile: issues, keepRoot: root).run()
            print(json ? result.json : result.text)
        }
    }
}
