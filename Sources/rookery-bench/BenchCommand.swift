import ArgumentParser
import Foundation
import RookeryCore

/// `rookery-bench`: the benchmarks, a program of their own so that the server binary carries
/// neither them nor the client library they use. `bin/bench` builds it in release mode beside
/// `rookery` and `rookery-client` in lib/rookery/ and runs it; it runs those two binaries.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rookery-bench", abstract: "Benchmarks that drive a real server (run them with bin/bench).",
        discussion: """
            Runs the `rookery` and `rookery-client` binaries beside this one (bin/bench builds all
            three in release mode into lib/rookery/). Run on an otherwise idle machine.
            """,
        subcommands: [
            SubmitBench.self, VerifyBench.self, CronBench.self, ReleaseBench.self, AuditBench.self, ShellBench.self,
            DashboardBench.self, ManagedBench.self
        ])

    struct SubmitBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "submit",
            abstract: "Signed submissions from enrolled devices against a real server.",
            discussion: """
                Starts `rookery server` in a scratch install root on 127.0.0.1, makes --devices Ed25519
                device keys (in-process; gpg would be too slow to sign a large load), enrolls each through the real endpoint and accepts it; then for
                each --concurrency level signs --requests submissions of a realistic laptop document
                (padded to --document-bytes) ahead of time (signing is the devices' cost, not the
                server's), sends them at that concurrency and reports requests/s, median and p99
                latency, the server's CPU seconds per 1,000 submissions and its peak RSS.
                CPU is given twice: the server process alone (/proc/PID/stat), and the server's whole
                side (with its verify helpers and gpg runs), the machine's busy time minus the
                benchmark's own. With --tls every submission makes its own HTTPS connection and
                handshake, as a device's cron run does; plain HTTP makes a new connection per submission
                too, unless --keep-alive keeps one per sender open, as a proxy in front of the server
                does. The load generator's own CPU is reported: it shares the machine. --root keeps the server root and the device
                keys for later runs, which skip making and enrolling the devices.

                With --database postgresql://USER@HOST:PORT/DB the same load runs on SQLite and then on
                PostgreSQL (--rounds times, alternating), each PostgreSQL setup on a database of its own
                made beside DB and dropped afterwards (the user needs CREATEDB), with --servers server
                processes sharing it and the devices spread over them. When the cluster runs on this
                machine its CPU (every `postgres` process) is reported, and its share of the server side.
                bin/bench starts a durable throw-away cluster for `--database scratch`.
                """)

        @Option(help: "Enrolled devices that sign the submissions.") var devices = 20
        @Option(help: "Requests in flight at once; a comma-separated list (1,16,64) runs each in turn.")
        var concurrency = ConcurrencyLevels([1])
        @Option(help: "Submissions to send at each concurrency.") var requests = 1000
        @Option(help: "Pad every signed submission to about this many bytes (default: the laptop document as it is, about 6.5 KB).")
        var documentBytes: Int?
        @Option(help: "Write verify_with: native|gpgme into the server's settings (default: nothing, the server's own default).")
        var verifyWith: VerifyWith?
        @Option(help: "Keep the server root and device keys in DIR; a later run with the same DIR reuses them (and makes only the devices it lacks).")
        var root: String?
        @Flag(help: "Send over HTTPS (TLS) instead of plain HTTP.") var tls = false
        @Flag(help: "Keep one connection per sender open (plain HTTP only).") var keepAlive = false
        @Option(
            name: .customLong("setting"),
            help: "Add 'key: value' to the bench server's settings (repeatable), e.g. --setting 'commit_batch_max: 128'.")
        var settings: [String] = []
        @Option(help: "Also measure on PostgreSQL: postgresql://USER@HOST:PORT/DB (a scratch database is made beside DB).")
        var database: String?
        @Option(help: "The PostgreSQL password's file (default: ROOKERY_DATABASE_PASSWORD, else none).")
        var databasePasswordFile: String?
        @Option(help: "Server processes sharing the PostgreSQL database (1-8).") var servers = 1
        @Option(help: "With --database: run SQLite then PostgreSQL this many times.") var rounds = 1
        @Flag(help: "Print each result as a line of JSON.") var json = false

        func run() async throws {
            guard devices > 0, requests > 0 else { throw ValidationError("--devices and --requests must be positive") }
            guard (1...8).contains(servers), (1...20).contains(rounds) else {
                throw ValidationError("--servers takes 1 to 8, --rounds 1 to 20")
            }
            guard database != nil || (servers == 1 && rounds == 1 && databasePasswordFile == nil) else {
                throw ValidationError("--servers, --rounds and --database-password-file go with --database (SQLite serves one process)")
            }
            guard database == nil || root == nil else {
                throw ValidationError("--root keeps enrolled devices, which a fresh PostgreSQL database would not know; drop --root")
            }
            guard !(tls && keepAlive) else { throw ValidationError("--keep-alive is for plain HTTP; drop --tls or --keep-alive") }
            try BenchDocument.checkSize(documentBytes)
            guard settings.allSatisfy({ $0.contains(": ") && !$0.contains("\n") }) else {
                throw ValidationError("--setting takes one 'key: value' line")
            }
            var benchmark = SubmitBenchmark(
                devices: devices, levels: concurrency.levels, requests: requests,
                documentBytes: documentBytes, tls: tls, keepAlive: keepAlive, verifyWith: verifyWith,
                keepRoot: root)
            benchmark.extraSettings = settings
            benchmark.postgres = try database.map { try BenchPostgres(url: $0, passwordFile: databasePasswordFile) }
            benchmark.servers = servers
            benchmark.rounds = rounds
            try await benchmark.run { result in print(json ? result.json : result.text + "\n") }
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
                Starts `rookery server` in a scratch root, enrolls one device that pins its key, then                 --runs times publishes a release of --client and the checkout's client files and times                 the device's `rookery-client update`: signed answer, download over 127.0.0.1, signature                 and hash checks, unpack and switch. Reports the tarball and unpacked sizes, the median                 and max time, and the peak RSS; then 50 idle `cron` runs of the binary the last update installed (their RSS depends on how the install left it in the page cache).
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
            let result = try await ReleaseBenchmark(
                clientBinary: binary, source: InstallRoot.fromEnvironment().path,
                runs: runs
            ).run()
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
                With --database postgresql://USER@HOST:PORT/DB the fleet is seeded into a database of its
                own made beside DB (dropped afterwards) instead, and PostgreSQL's CPU over each pass is
                reported when it runs on this machine; bin/bench starts a throw-away cluster for
                `--database scratch`.
                """)

        @Option(help: "Stored devices.") var devices = 10_000
        @Option(help: "Build the fleet in DIR and keep it; a later run with the same DIR reuses it.") var root: String?
        @Option(help: "Audit on PostgreSQL instead: postgresql://USER@HOST:PORT/DB (a scratch database is made beside DB).")
        var database: String?
        @Option(help: "The PostgreSQL password's file (default: ROOKERY_DATABASE_PASSWORD, else none).")
        var databasePasswordFile: String?
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            guard devices > 0 else { throw ValidationError("--devices must be positive") }
            guard database == nil || root == nil else {
                throw ValidationError("--root keeps a SQLite fleet; with --database each run seeds a fresh database")
            }
            let issues = InstallRoot.fromEnvironment().path + "/server/issues.yml"
            guard FileManager.default.fileExists(atPath: issues) else { throw ValidationError("no checks at \(issues)") }
            var benchmark = AuditBenchmark(devices: devices, issuesFile: issues, keepRoot: root)
            benchmark.postgres = try database.map { try BenchPostgres(url: $0, passwordFile: databasePasswordFile) }
            let result = try await benchmark.run()
            print(json ? result.json : result.text)
        }
    }

    struct DashboardBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dashboard",
            abstract: "Every dashboard page and read API route over a large fleet: time to the answer.",
            discussion: """
                Seeds --devices accepted devices (the audit benchmark's documents) and 100 pending ones into a scratch \
                root's SQLite file, runs one audit and records 29 earlier days of compliance, starts `rookery server` \
                with the dashboard and times --requests GETs of each page and API route with curl (time to the first \
                byte). Target: every page under 200 ms for 10,000 devices.
                """)

        @Option(help: "Stored devices.") var devices = 10_000
        @Option(help: "Timed requests per page, after one to warm up.") var requests = 20
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            guard devices >= 50, requests > 0 else { throw ValidationError("--devices must be at least 50 and --requests positive") }
            let issues = InstallRoot.fromEnvironment().path + "/server/issues.yml"
            guard FileManager.default.fileExists(atPath: issues) else { throw ValidationError("no checks at \(issues)") }
            let result = try await DashboardBenchmark(devices: devices, issuesFile: issues, requests: requests).run()
            print(json ? result.json : result.text)
        }
    }

    struct ManagedBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "managed",
            abstract: "Rendering the managed state (settings, firewall, keys) over a large fleet: apply and plan.",
            discussion: """
                Seeds --devices accepted devices into a scratch root's SQLite file with four groups and the three \
                managed-state files, then times `rookery groups apply` (every state rendered and written) and \
                `rookery groups plan` (rendered and compared: what the server's per-minute refresh does when \
                nothing changed) under GNU time. Target: the refresh well inside its minute for 10,000 devices.
                """)

        @Option(help: "Stored devices.") var devices = 10_000
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            guard devices >= 100 else { throw ValidationError("--devices must be at least 100") }
            let result = try await ManagedStateBenchmark(devices: devices).run()
            print(json ? result.json : result.text)
        }
    }

    struct ShellBench: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "shell",
            abstract: "The remote shell: request to prompt, keystroke round trip, throughput, the agent's memory.",
            discussion: """
                Starts `rookery server` (remote shells on) in a scratch root, enrolls one device whose shell runs as \
                this user, starts its `rookery-client agent` (polling every 5 s) and drives `rookery client-shell` \
                through a pseudo-terminal: --sessions times from the command to the prompt; --keystrokes single keys \
                timed until their echo; `--command cat` of a --cat-bytes file into a pipe; the agent's RSS after \
                start and after --idle-polls idle polls (RSS, PSS, private dirty); then, without the agent, request to prompt from the device's update \
                (what a cron run does when its update is due). Targets: prompt < 2 s with the agent, keystroke median \
                < 20 ms, cat > 20 MB/s, agent RSS < 10 MB.
                """)

        @Option(help: "The rookery-client binary (default: the one beside this binary).") var client: String?
        @Option(help: "Sessions opened with the agent.") var sessions = 5
        @Option(help: "Keys typed and timed.") var keystrokes = 300
        @Option(help: "Size of the file sent with cat (three times; the median is reported).") var catBytes = 20_000_000
        @Option(help: "Idle polls (5 s apart) before the agent's memory is read again.") var idlePolls = 6
        @Option(help: "Run the server on PostgreSQL: postgresql://USER@HOST:PORT/DB (a scratch database is made beside DB), or scratch through bin/bench.")
        var database: String?
        @Option(help: "The PostgreSQL password's file (default: ROOKERY_DATABASE_PASSWORD, else none).")
        var databasePasswordFile: String?
        @Flag(help: "Print the result as JSON.") var json = false

        func run() async throws {
            guard sessions > 0, keystrokes > 0, catBytes > 0, idlePolls > 0 else { throw ValidationError("give positive counts") }
            let binary = client ?? (InstallRoot.currentExecutable as NSString).deletingLastPathComponent + "/rookery-client"
            guard FileManager.default.isExecutableFile(atPath: binary) else {
                throw ValidationError("no client binary at \(binary); pass --client PATH")
            }
            var benchmark = ShellBenchmark(
                clientBinary: binary, sessions: sessions, keystrokes: keystrokes, catBytes: catBytes, idlePolls: idlePolls)
            benchmark.postgres = try database.map { try BenchPostgres(url: $0, passwordFile: databasePasswordFile) }
            let result = try await benchmark.run()
            print(json ? result.json : result.text)
        }
    }
}
