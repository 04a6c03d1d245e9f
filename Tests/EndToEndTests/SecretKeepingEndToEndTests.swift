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
            try sandbox.write(
                """
                #!/bin/sh
                echo "{\\"serial\\": \\"$(cat "$ROOKERY_HOME/serial")\\", \\"model\\": \\"T14\\"}"
                """, to: "sk1/client/plugins/inventory.sh", mode: 0o755)
            guard try client.run("enroll").status == 0, try server.admin(["clients", "accept", "sk1"]).status == 0 else {
                throw SettingsError("sk1 could not enroll")
            }
            // The device pins the server's key, as a release would give it, to check update answers.
            let key = try String(contentsOfFile: server.root + "/server/server-key.asc", encoding: .utf8)
            try sandbox.write(key, to: "sk1/client/server-key.asc")
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
            let enabled = try secretKeeping([
                "enable", "--shares", "\(shares)", "--threshold", "\(threshold)",
                "--out", sandbox.path + "/" + out
            ])
            #expect(enabled.status == 0, "\(enabled.stderr)")
            return (1...shares).map { sandbox.path + "/\(out)/rookery-secret-share." + String(format: "%03d", $0) }
        }

        func rawDatabase() throws -> Data { try server.rawDatabase() }

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

    @Test func aDeviceLearnsTheKeyThroughUpdateAndNoPlaintextReachesTheServer() throws {
        let fleet = try Fleet()
        let shares = try fleet.enable()
        #expect(try fleet.secretKeeping(["select", "plugins.inventory.serial"]).status == 0)
        // Queued before the device learned the selector: sealed when it is sent.
        try "SN-DEVICE-31336-KQ".write(toFile: fleet.client.root + "/serial", atomically: true, encoding: .utf8)
        #expect(try fleet.client.run("collect").status == 0)
        let updated = try fleet.client.run("update")
        #expect(updated.status == 0, "\(updated.stderr)")
        #expect(try fleet.client.run("submit").status == 0)
        let first = try #require(try fleet.secretKeeping(["show", "--json"]).stdout.data(using: .utf8))
        #expect(try JSONValue.parse(first)["encrypted_values"] == .integer(1), "sealed on its way out, not withheld")

        // Sealed before it is queued: the queue file holds no plaintext.
        let secret = "SN-DEVICE-31337-KQ"
        try secret.write(toFile: fleet.client.root + "/serial", atomically: true, encoding: .utf8)
        #expect(try fleet.client.run("collect").status == 0)
        let queued = try #require(fleet.client.queued().first)
        let queueFile = try Data(contentsOf: URL(fileURLWithPath: fleet.client.root + "/var/client/collected/" + queued))
        #expect(!Self.contains(queueFile, secret))
        #expect(Self.contains(queueFile, "T14"))
        #expect(try fleet.client.run("submit").status == 0)
        try fleet.report(secret)
        try fleet.report("SN-DEVICE-31338-KQ")

        let stored = try fleet.showJSON()
        let text = stored.serializedString
        #expect(!text.contains("SN-DEVICE-3133"))
        #expect(stored["document"]?["plugins"]?["inventory"]?["model"] == .string("T14"))
        // Four collections, three values: the history shows the path appear and change twice.
        guard case .array(let history)? = stored["history"] else {
            Issue.record("no history")
            return
        }
        #expect(history.filter { $0["path"] == .string("plugins.inventory.serial") }.count == 3)
        #expect(!Self.contains(try fleet.rawDatabase(), "SN-DEVICE-3133"))

        for pair in [[0, 1], [1, 2], [2, 0]] {
            let (read, values) = try fleet.accessJSON(pair.map { shares[$0] }, ["plugins.inventory.serial"])
            #expect(read.status == 0, "\(read.stderr)")
            #expect(values?.serializedString.contains("\"value\":\"SN-DEVICE-31338-KQ\"") == true)
        }
        let (alone, _) = try fleet.accessJSON([shares[2]])
        #expect(alone.status == 65)
        #expect(alone.stderr.contains("1 more share is needed"))
        #expect(!alone.stdout.contains("SN-DEVICE"))
    }

    @Test func clearValuesStoredBeforeSelectAreEncryptedInPlaceAndLeaveNoTrace() throws {
        let fleet = try Fleet()
        // Two clear reports: the second puts the first into the history as an old value. Long
        // values spill into overflow pages, which SQLite frees (and must zero) when rewritten.
        let padding = String(repeating: "p", count: 6000)
        try fleet.report("SN-CLEAR-0001-QX" + padding)
        try fleet.report("SN-CLEAR-0002-QX" + padding)
        // A check that quotes the serial in its issue's detail, audited while it was in clear.
        try fleet.sandbox.write(
            """
            checks:
              - name: serial-reported
                description: The inventory reports a serial
                condition:
                  path: plugins.inventory.serial
                  regex: "^SN-"
                grace: 0
                alert_every: 1d
            """, to: "srv/server/issues.yml")
        let audited = try fleet.server.admin(["issues", "audit"])
        #expect(audited.stdout.contains("SN-CLEAR-0002-QX"), "\(audited.stderr)")
        #expect(Self.contains(try fleet.rawDatabase(), "SN-CLEAR-0001-QX"))
        let shares = try fleet.enable()

        let selected = try fleet.secretKeeping(["select", "plugins.inventory.serial"])
        #expect(selected.status == 0, "\(selected.stderr)")
        #expect(selected.stdout.contains("1 stored value is still in clear"))

        let encrypted = try fleet.secretKeeping(["encrypt"])
        #expect(encrypted.status == 0, "\(encrypted.stderr)")
        #expect(encrypted.stdout.contains("1 document"))

        let raw = try fleet.rawDatabase()
        #expect(!Self.contains(raw, "SN-CLEAR-0001-QX"))
        #expect(!Self.contains(raw, "SN-CLEAR-0002-QX"))
        #expect(Self.contains(raw, "T14"), "the unselected field stays in clear")
        let shown = try fleet.showJSON().serializedString
        #expect(!shown.contains("SN-CLEAR-"))

        // The public key alone encrypted them; two shares read them back.
        let (read, values) = try fleet.accessJSON([shares[0], shares[2]])
        #expect(read.status == 0, "\(read.stderr)")
        #expect(values?.serializedString.contains("\"value\":\"SN-CLEAR-0002-QX\(padding)\"") == true)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: fleet.keyTemp).isEmpty,
            "temporary GnuPG homes are wiped")
    }

    /// A fleet whose one serial was reported in clear and then encrypted by `encrypt`.
    func fleetWithEncryptedSerial(_ serial: String) throws -> (Fleet, [String]) {
        let fleet = try Fleet()
        try fleet.report(serial)
        let shares = try fleet.enable()
        #expect(try fleet.secretKeeping(["select", "plugins.inventory.serial"]).status == 0)
        #expect(try fleet.secretKeeping(["encrypt"]).status == 0)
        return (fleet, shares)
    }

    @Test func sharesAreCountedCheckedAndNamed() throws {
        let (fleet, shares) = try fleetWithEncryptedSerial("SN-SHARES-5150")
        // Any two of the three read the value.
        for pair in [[0, 1], [0, 2], [1, 2]] {
            let (read, values) = try fleet.accessJSON(pair.map { shares[$0] })
            #expect(read.status == 0, "\(read.stderr)")
            #expect(values?.serializedString.contains("SN-SHARES-5150") == true, "shares \(pair)")
        }
        // One is not enough, and says how many more are needed.
        let (alone, _) = try fleet.accessJSON([shares[1]])
        #expect(alone.status == 65)
        #expect(alone.stderr.contains("1 more share is needed"))
        #expect(!alone.stdout.contains("SN-SHARES-5150"))

        // A flipped byte is named, and the share it damaged does not count.
        var damaged = try Data(contentsOf: URL(fileURLWithPath: shares[1]))
        // Inside the armored key's base64 text, where every byte counts.
        damaged[100] ^= 0x01
        try damaged.write(to: URL(fileURLWithPath: shares[1]))
        let (flipped, _) = try fleet.accessJSON([shares[0], shares[1]])
        #expect(flipped.status == 65)
        #expect(flipped.stderr.contains("share \(shares[1]) (number 2) is damaged"))
        #expect(flipped.stderr.contains("1 more share is needed"))
        let (spare, values) = try fleet.accessJSON([shares[0], shares[1], shares[2]])
        #expect(spare.status == 0, "\(spare.stderr)")
        #expect(values?.serializedString.contains("SN-SHARES-5150") == true)

        // Every attempt is on record, refused ones too.
        let shown = try fleet.secretKeeping(["show", "--json"])
        let log = try JSONValue.parse(Data(shown.stdout.utf8))["access_log"]
        guard case .array(let entries)? = log else {
            Issue.record("no access log")
            return
        }
        #expect(entries.filter { $0["action"] == .string("access") }.count == 6)
        #expect(entries.contains { $0["outcome"]?.stringValue?.hasPrefix("not done: 1 more share") == true })
    }

    @Test func gfcombineRebuildsRookerysKeyAndGfsplitSharesWorkInRookery() throws {
        let (fleet, shares) = try fleetWithEncryptedSerial("SN-GFSHARE-8086")
        let sandbox = fleet.sandbox
        // Debian's gfcombine rebuilds the key from two of Rookery's shares; gpg decrypts the stored value with it.
        let key = sandbox.path + "/rebuilt.asc"
        let combined = try runProcess("/usr/bin/gfcombine", ["-o", key, shares[0], shares[2]], environment: [:])
        #expect(combined.status == 0, "gfcombine (from libgfshare-bin, which bin/test installs): \(combined.stderr)")
        let home = try sandbox.directory("gk")
        #expect(try runProcess("/usr/bin/gpg", ["--homedir", home, "--batch", "--import", key], environment: [:]).status == 0)
        // The ciphertext, straight from the database: bin/clients show prints [secret].
        let path =
            fleet.server.postgres == nil
            ? "json_extract(document, '$.plugins.inventory.serial.secret')"
            : "document::jsonb #>> '{plugins,inventory,serial,secret}'"
        let stored = try fleet.server.sql("SELECT \(path) FROM documents")
        let secret = try #require(Data(base64Encoded: stored))
        try secret.write(to: URL(fileURLWithPath: sandbox.path + "/value.gpg"))
        let decrypted = try runProcess(
            "/usr/bin/gpg", ["--homedir", home, "--batch", "--decrypt", sandbox.path + "/value.gpg"],
            environment: [:])
        #expect(decrypted.stdout == "\"SN-GFSHARE-8086\"", "\(decrypted.stderr)")

        // gfsplit's shares of that key (3 of 4 needed) work with `access`; with one damaged among
        // four, the bad one is found by trying subsets and named.
        _ = try sandbox.directory("gf")
        let made = try runProcess("/usr/bin/gfsplit", ["-n", "3", "-m", "4", key, sandbox.path + "/gf/key"], environment: [:])
        #expect(made.status == 0, "\(made.stderr)")
        let gfShares = try FileManager.default.contentsOfDirectory(atPath: sandbox.path + "/gf").sorted().map { sandbox.path + "/gf/" + $0 }
        #expect(gfShares.count == 4)
        let (read, values) = try fleet.accessJSON(Array(gfShares.prefix(3)))
        #expect(read.status == 0, "\(read.stderr)")
        #expect(values?.serializedString.contains("SN-GFSHARE-8086") == true)

        var damaged = try Data(contentsOf: URL(fileURLWithPath: gfShares[1]))
        damaged[10] ^= 0x40
        try damaged.write(to: URL(fileURLWithPath: gfShares[1]))
        let (bad, found) = try fleet.accessJSON(gfShares)
        #expect(bad.status == 0, "\(bad.stderr)")
        #expect(bad.stderr.contains("warning: share \(gfShares[1]) "), "\(bad.stderr)")
        #expect(bad.stderr.contains("damaged or belongs to another key"))
        #expect(found?.serializedString.contains("SN-GFSHARE-8086") == true)
    }

    @Test func replacingTheKeyNeedsCurrentSharesAndRetiresTheOldOnes() throws {
        let (fleet, shares) = try fleetWithEncryptedSerial("SN-ROTATE-2600")
        let sandbox = fleet.sandbox
        let refused = try fleet.secretKeeping(["enable", "--replace", "--out", sandbox.path + "/new"])
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("more shares are needed"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/new"))
        let log = try fleet.secretKeeping(["show"]).stdout
        #expect(log.contains("  enable  \(NSUserName())  hosts: -  paths: -  not done: 2 more shares are needed"), "\(log)")
        let again = try fleet.secretKeeping(["enable", "--out", sandbox.path + "/new"])
        #expect(again.status == 5)
        #expect(again.stderr.contains("--preserve keeps it"))

        let replaced = try fleet.secretKeeping([
            "enable", "--replace", "--share", shares[0], "--share", shares[1],
            "--shares", "2", "--threshold", "2", "--out", sandbox.path + "/new"
        ])
        #expect(replaced.status == 0, "\(replaced.stderr) \(replaced.stdout)")
        #expect(replaced.stdout.contains("re-encrypted 1 stored values"))
        let newShares = (1...2).map { sandbox.path + "/new/rookery-secret-share.00\($0)" }
        let (read, values) = try fleet.accessJSON(newShares)
        #expect(read.status == 0, "\(read.stderr)")
        #expect(values?.serializedString.contains("SN-ROTATE-2600") == true)
        // The old shares are other shares now: their checksums are not the recorded ones.
        let (old, _) = try fleet.accessJSON([shares[0], shares[1]])
        #expect(old.status == 65)
        #expect(!old.stdout.contains("SN-ROTATE-2600"))
        #expect(!Self.contains(try fleet.rawDatabase(), "SN-ROTATE-2600"))
    }

    @Test func theAccessLogNamesTheSudoUserAndRefusesChanges() throws {
        let (fleet, shares) = try fleetWithEncryptedSerial("SN-LOG-1234")
        // A home left by a command that was killed (its pid is gone) is wiped by the next one; a
        // home whose maker still runs (pid 1) is left alone.
        let abandoned = fleet.keyTemp + "/rookery-keys-2147483646-q1w2e3"
        let running = fleet.keyTemp + "/rookery-keys-1-r4t5y6"
        for home in [abandoned, running] {
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: false)
            try "key material".write(toFile: home + "/private.key", atomically: false, encoding: .utf8)
        }
        let read = try fleet.secretKeeping(
            [
                "access", "--share", shares[0], "--share", shares[1], "--host", "sk1",
                "plugins.inventory.serial"
            ], environment: ["SUDO_USER": "alice"])
        #expect(read.status == 0, "\(read.stderr)")
        #expect(read.stdout.contains("\"SN-LOG-1234\""))
        #expect(!FileManager.default.fileExists(atPath: abandoned))
        #expect(FileManager.default.fileExists(atPath: running))
        try FileManager.default.removeItem(atPath: running)
        let shown = try fleet.secretKeeping(["show"])
        #expect(
            shown.stdout.contains("access  \(NSUserName()) (sudo from alice)  hosts: sk1  paths: plugins.inventory.serial  ok"),
            "\(shown.stdout)")
        #expect(!shown.stdout.contains("SN-LOG-1234"))

        let column = fleet.server.postgres == nil ? "user" : "\"user\""
        for sql in ["UPDATE secret_access_log SET \(column) = 'mallory'", "DELETE FROM secret_access_log"] {
            #expect {
                try fleet.server.sql(sql)
            } throws: { error in
                "\(error)".contains("append-only")
            }
        }

        // Nothing is disabled while values are still encrypted or paths still selected.
        let selected = try fleet.secretKeeping(["disable"])
        #expect(selected.status == 5)
        #expect(selected.stderr.contains("still selected"))
        #expect(try fleet.secretKeeping(["deselect", "plugins.inventory.serial"]).status == 0)
        let encrypted = try fleet.secretKeeping(["disable"])
        #expect(encrypted.status == 5)
        #expect(encrypted.stderr.contains("1 stored values are still encrypted"))
        let decrypted = try fleet.secretKeeping(["decrypt", "--share", shares[2], "--share", shares[0]])
        #expect(decrypted.status == 0, "\(decrypted.stderr)")
        #expect(try fleet.showJSON()["document"]?["plugins"]?["inventory"]?["serial"] == .string("SN-LOG-1234"))
        #expect(try fleet.secretKeeping(["disable"]).status == 0)
    }
}
