import Foundation
import RookeryCore
import Testing

/// `bin/secret_keeping` with the real binaries: a real server and client, real gpg keys, real
/// share files, Debian's gfsplit and gfcombine, and byte scans of the raw SQLite file and its WAL.
@Suite(.serialized) struct SecretKeepingEndToEndTests {
    /// A fleet of one device whose `inventory` plugin reports the serial written in its state.
    struct Fleet {
        let sandbox: Sandbox
        let server: ServerProcess
        let client: ClientRoot
        /// Where temporary GnuPG homes go, so the test can see that they are wiped.
        let keyTemp: String

        init() throws {
            sandbox = try Sandbox()
            server = try ServerProcess.started(in: sandbox)
            keyTemp = try sandbox.directory("keytmp")
            client = try ClientRoot(sandbox: sandbox, name: "sk1", serverURL: server.url)
            try sandbox.write("""
                #!/bin/sh
                echo "{\\"serial\\": \\"$(cat "$ROOKERY_HOME/serial")\\", \\"model\\": \\"T14\\"}"
                """, to: "sk1/client/plugins/inventory.sh", mode: 0o755)
            guard try client.run("enroll").status == 0, try server.admin(["clients", "accept", "sk1"]).status == 0 else {
                throw SettingsError("sk1 could not enroll")
            }
        }

        /// Collects and submits one collection reporting `serial`.
        func report(_ serial: String) throws {
            try serial.write(toFile: client.root + "/serial", atomically: true, encoding: .utf8)
            let collected = try client.run("collect")
            #expect(collected.status == 0, "\(collected.stderr)")
            let submitted = try client.run("submit")
            #expect(submitted.status == 0, "\(submitted.stderr)")
        }

        /// Runs `rookery secret-keeping ...` against the server's root.
        func secretKeeping(_ arguments: [String], environment extra: [String: String] = [:]) throws -> ProcessOutput {
            var environment = ProcessInfo.processInfo.environment
            environment["ROOKERY_HOME"] = server.root
            environment["ROOKERY_SECRET_TMPDIR"] = keyTemp
            environment.removeValue(forKey: "SUDO_USER")
            environment.merge(extra) { $1 }
            return try runProcess(binaryDirectory + "/rookery", ["secret-keeping"] + arguments, environment: environment)
        }

        func enable(shares: Int = 3, threshold: Int = 2, out: String = "shares") throws -> [String] {
            let enabled = try secretKeeping(["enable", "--shares", "\(shares)", "--threshold", "\(threshold)",
                                             "--out", sandbox.path + "/" + out])
            #expect(enabled.status == 0, "\(enabled.stderr)")
            return (1...shares).map { sandbox.path + "/\(out)/rookery-secret-share." + String(format: "%03d", $0) }
        }

        /// Every byte the database holds on disk: the file, its WAL and shared-memory index.
        func rawDatabase() -> Data {
            let base = server.root + "/var/server/rookery.sqlite"
            return ["", "-wal", "-shm", "-journal"].reduce(into: Data()) { all, suffix in
                all += FileManager.default.contents(atPath: base + suffix) ?? Data()
            }
        }

        func showJSON() throws -> JSONValue {
            let shown = try server.admin(["clients", "show", "sk1", "--json", "--history", "100"])
            #expect(shown.status == 0, "\(shown.stderr)")
            return try JSONValue.parse(Data(shown.stdout.utf8))
        }

        func accessJSON(_ shares: [String], _ selectors: [String] = []) throws -> (ProcessOutput, JSONValue?) {
            let read = try secretKeeping(["access", "--json"] + shares.flatMap { ["--share", $0] } + selectors)
            return (read, read.status == 0 ? try JSONValue.parse(Data(read.stdout.utf8)) : nil)
        }
    }

    static func contains(_ haystack: Data, _ needle: String) -> Bool {
        haystack.range(of: Data(needle.utf8)) != nil
    }

    @Test func clearValuesStoredBeforeSelectAreEncryptedInPlaceAndLeaveNoTrace() throws {
        let fleet = try Fleet()
        // Two clear reports: the second puts the first into the history as an old value. Long
        // values spill into overflow pages, which SQLite frees (and must zero) when rewritten.
        let padding = String(repeating: "p", count: 6000)
        try fleet.report("SN-CLEAR-0001-QX" + padding)
        try fleet.report("SN-CLEAR-0002-QX" + padding)
        #expect(Self.contains(fleet.rawDatabase(), "SN-CLEAR-0001-QX"))
        let shares = try fleet.enable()

        let selected = try fleet.secretKeeping(["select", "plugins.inventory.serial"])
        #expect(selected.status == 0, "\(selected.stderr)")
        #expect(selected.stdout.contains("1 stored value is still in clear"))

        let encrypted = try fleet.secretKeeping(["encrypt"])
        #expect(encrypted.status == 0, "\(encrypted.stderr)")
        #expect(encrypted.stdout.contains("1 document"))

        let raw = fleet.rawDatabase()
        #expect(!Self.contains(raw, "SN-CLEAR-0001-QX"))
        #expect(!Self.contains(raw, "SN-CLEAR-0002-QX"))
        #expect(Self.contains(raw, "T14"), "the unselected field stays in clear")
        let shown = try fleet.showJSON().serializedString
        #expect(!shown.contains("SN-CLEAR-"))

        // The public key alone encrypted them; two shares read them back.
        let (read, values) = try fleet.accessJSON([shares[0], shares[2]])
        #expect(read.status == 0, "\(read.stderr)")
        #expect(values?.serializedString.contains("\"value\":\"SN-CLEAR-0002-QX\(padding)\"") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: fleet.keyTemp).isEmpty,
                "temporary GnuPG homes are wiped")
    }
}
