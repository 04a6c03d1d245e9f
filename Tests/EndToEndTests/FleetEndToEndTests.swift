import Foundation
import RookeryCore
import Testing

/// The real binaries, a real server on 127.0.0.1, two client roots.
@Suite(.serialized) struct FleetEndToEndTests {
    func showJSON(_ server: ServerProcess, _ host: String) throws -> JSONValue {
        let shown = try server.admin(["clients", "show", host, "--json"])
        #expect(shown.status == 0, "\(shown.stderr)")
        return try JSONValue.parse(Data(shown.stdout.utf8))
    }

    @Test func enrollAcceptPendingRevoke() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess.started(in: sandbox)
        let c1 = try ClientRoot(sandbox: sandbox, name: "c1", serverURL: server.url)
        let c2 = try ClientRoot(sandbox: sandbox, name: "c2", serverURL: server.url)

        // Both enroll and wait.
        for client in [c1, c2] {
            let enrolled = try client.run("enroll")
            #expect(enrolled.status == 0, "\(enrolled.stderr)")
            #expect(enrolled.stdout.contains("enrolled: pending"))
        }
        let pending = try server.admin(["clients", "pending", "--json"])
        let pendingHosts = try JSONValue.parse(Data(pending.stdout.utf8))
        guard case .array(let pendingDevices) = pendingHosts else {
            Issue.record("not a list")
            return
        }
        #expect(Set(pendingDevices.compactMap { $0["hostname"]?.stringValue }) == ["c1", "c2"])

        // c1 is accepted; accept prints the fingerprint it accepts.
        let accepted = try server.admin(["clients", "accept", "c1"])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        let c1Key = try #require(try showJSON(server, "c1")["fingerprint"]?.stringValue)
        #expect(accepted.stdout.contains(c1Key))

        // c1's collection is stored; c2's waits in its queue.
        #expect(try c1.run("collect").status == 0)
        let c1Submit = try c1.run("submit", "--json")
        #expect(c1Submit.status == 0, "\(c1Submit.stderr)")
        #expect(c1.queued().isEmpty)
        let c1Shown = try showJSON(server, "c1")
        #expect(c1Shown["document"]?["plugins"]?["counter"]?["n"] == .integer(1))
        #expect(c1Shown["document"]?["plugins"]?["os_info"] != nil)

        #expect(try c2.run("collect").status == 0)
        #expect(try c2.run("collect").status == 0)
        let refused = try c2.run("submit")
        #expect(refused.status == 3)
        #expect(refused.stdout.contains("not_accepted"))
        #expect(c2.queued().count == 2)

        // Once accepted, both of c2's collections arrive, in order.
        #expect(try server.admin(["clients", "accept", "c2"]).status == 0)
        #expect(try c2.run("submit").status == 0)
        #expect(c2.queued().isEmpty)
        let c2Shown = try showJSON(server, "c2")
        #expect(c2Shown["document"]?["plugins"]?["counter"]?["n"] == .integer(2))
        #expect(try server.count("SELECT count(*) FROM submissions") == 3)

        // A revoked device is refused and keeps its queue.
        let revoked = try server.admin(["clients", "revoke", "c1"])
        #expect(revoked.status == 0)
        #expect(try c1.run("collect").status == 0)
        let afterRevoke = try c1.run("submit")
        #expect(afterRevoke.status == 3)
        #expect(afterRevoke.stdout.contains("revoked"))
        #expect(c1.queued().count == 1)
        let status = try JSONValue.parse(Data(try c1.run("status", "--json").stdout.utf8))
        #expect(status["enrollment"] == .string("revoked"))
        #expect(status["queued"] == .integer(1))

        // A revoked key cannot be accepted again; the refusal names the way back, and it works.
        let acceptRevoked = try server.admin(["clients", "accept", "c1"])
        #expect(acceptRevoked.status == 5, "\(acceptRevoked.stdout)")
        #expect(acceptRevoked.stderr.contains("is revoked"), "\(acceptRevoked.stderr)")
        #expect(acceptRevoked.stderr.contains("bin/clients forget "), "\(acceptRevoked.stderr)")
        #expect(acceptRevoked.stderr.contains("rookery-client enroll"), "\(acceptRevoked.stderr)")
        #expect(try server.admin(["clients", "forget", "c1"]).status == 0)
        let enrolled = try c1.run("enroll")
        #expect(enrolled.stdout.contains("enrolled: pending"), "\(enrolled.stdout) \(enrolled.stderr)")
        #expect(try server.admin(["clients", "accept", "c1"]).status == 0)
        #expect(try c1.run("submit").status == 0)
        #expect(c1.queued().isEmpty)
    }

    @Test func serverStoppedMidSubmitLosesAndDuplicatesNothing() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess.started(in: sandbox)
        let collections = 25
        let client = try server.acceptedClient(sandbox: sandbox, name: "c3", collections: collections)

        // Submit in the background and kill the server part-way through.
        let submitting = DispatchGroup()
        submitting.enter()
        DispatchQueue.global().async {
            _ = try? client.run("submit")
            submitting.leave()
        }
        server.waitForSubmissions(atLeast: 3)
        server.kill()
        submitting.wait()
        let storedBeforeRestart = try server.count("SELECT count(*) FROM submissions")
        #expect(storedBeforeRestart >= 3)
        #expect(client.queued().count + storedBeforeRestart >= collections, "an item was lost")

        // Nothing is deleted while the server is gone.
        let whileDown = try client.run("submit")
        #expect(whileDown.status == 3)
        #expect(whileDown.stdout.contains("unreachable"))

        try server.start()
        let resumed = try client.run("submit")
        #expect(resumed.status == 0, "\(resumed.stdout) \(resumed.stderr)")
        #expect(client.queued().isEmpty)
        #expect(try server.count("SELECT count(*) FROM submissions") == collections)
        // Every collection's counter value was applied exactly once.
        #expect(try server.count("SELECT count(*) FROM changes WHERE path = 'plugins.counter.n'") == collections)
        #expect(try server.count("SELECT count(DISTINCT new) FROM changes WHERE path = 'plugins.counter.n'") == collections)
    }

    @Test func cronReturnsAtOnceWhenNothingIsDue() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess.started(in: sandbox)
        let client = try ClientRoot(sandbox: sandbox, name: "c1", serverURL: server.url)
        // First run: collect and submit are both due; the device enrolls and waits.
        #expect(try client.run("cron").status == 0)
        #expect(client.queued().count == 1)
        #expect(try server.admin(["clients", "accept", "c1"]).status == 0)
        // Second run: nothing due, so nothing collected and nothing sent.
        #expect(try client.run("cron").status == 0)
        #expect(client.queued().count == 1)
        #expect(try server.count("SELECT count(*) FROM submissions") == 0)
        // After acceptance, a due submit delivers what waited.
        #expect(try client.run("submit").status == 0)
        #expect(client.queued().isEmpty)
    }

    @Test func ambiguousHostnamesAreRefusedWithCandidates() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess.started(in: sandbox)
        let first = try ClientRoot(sandbox: sandbox, name: "c1", serverURL: server.url)
        let clone = try ClientRoot(sandbox: sandbox, name: "c2", serverURL: server.url)
        try "server_url: \(server.url)\nhostname: c1\nsystem_root: \(clone.root)/system\n"
            .write(toFile: clone.root + "/client/settings.yml", atomically: true, encoding: .utf8)
        #expect(try first.run("enroll").status == 0)
        #expect(try clone.run("enroll").status == 0)

        let ambiguous = try server.admin(["clients", "accept", "c1"])
        #expect(ambiguous.status == 65)
        #expect(ambiguous.stderr.contains("ambiguous"))
        let listed = try JSONValue.parse(Data(try server.admin(["clients", "list", "--json"]).stdout.utf8))
        guard case .array(let devices) = listed else {
            Issue.record("not a list")
            return
        }
        #expect(devices.count == 2)
        // The second key claiming a known hostname is flagged, not merged.
        #expect(devices.contains { ($0["flags"].map { "\($0)" } ?? "").contains("hostname c1 is also used") })
        let keys = devices.compactMap { $0["fingerprint"]?.stringValue }
        for key in keys { #expect(ambiguous.stderr.contains(key)) }
        #expect(try server.admin(["clients", "accept", keys[0]]).status == 0)
        #expect(try server.admin(["clients", "forget", keys[1]]).status == 0)
        #expect(try server.count("SELECT count(*) FROM devices") == 1)
    }
}

/// The client killed with SIGKILL part-way through a delivery: nothing lost, nothing applied twice.
@Suite struct ClientKilledTests {
    @Test func clientKilledMidSubmitLosesAndDuplicatesNothing() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess.started(in: sandbox)
        let collections = 25
        let client = try server.acceptedClient(sandbox: sandbox, name: "c1", collections: collections)

        let submit = Process()
        submit.executableURL = URL(fileURLWithPath: binaryDirectory + "/rookery-client")
        submit.arguments = ["submit"]
        submit.environment = ProcessInfo.processInfo.environment.merging(["ROOKERY_HOME": client.root]) { $1 }
        submit.standardOutput = FileHandle.nullDevice
        try submit.run()
        server.waitForSubmissions(atLeast: 3)
        kill(submit.processIdentifier, SIGKILL)
        submit.waitUntilExit()
        let stored = try server.count("SELECT count(*) FROM submissions")
        #expect(client.queued().count + stored >= collections, "an item was lost")

        #expect(try client.run("submit").status == 0)
        #expect(client.queued().isEmpty)
        #expect(try server.count("SELECT count(*) FROM submissions") == collections)
        #expect(try server.count("SELECT count(DISTINCT new) FROM changes WHERE path = 'plugins.counter.n'") == collections)
    }
}

/// A device whose hostname the server would refuse stops and keeps its queue; nothing is rejected.
@Suite struct InvalidHostnameTests {
    @Test func anInvalidHostnameStopsDeliveryAndKeepsTheQueue() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess.started(in: sandbox)
        let client = try ClientRoot(sandbox: sandbox, name: "c1", serverURL: server.url)
        try "server_url: \(server.url)\nhostname: bad_name\nsystem_root: \(client.root)/system\n"
            .write(toFile: client.root + "/client/settings.yml", atomically: true, encoding: .utf8)
        #expect(try client.run("collect").status == 0)
        let submitted = try client.run("submit")
        #expect(submitted.status != 0)
        #expect((submitted.stdout + submitted.stderr).contains("hostname \"bad_name\" is not valid"))
        #expect(client.queued().count == 1)
        let rejected = try FileManager.default.contentsOfDirectory(atPath: client.root + "/var/client/rejected")
        #expect(rejected.isEmpty)
    }
}

/// The server stops cleanly when asked, helpers and all.
@Suite struct ServerShutdownTests {
    @Test func sigtermStopsTheServerAndItsVerifyHelpers() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess(sandbox: sandbox)
        // Helpers check signatures only with gpg: the native checks need none.
        server.extraArguments = ["--verify-with", "gpgme"]
        try server.start()
        let client = try server.acceptedClient(sandbox: sandbox, name: "c1", collections: 1)
        #expect(try client.run("submit").status == 0)
        #expect(!helpers(of: server).isEmpty)
        #expect(server.terminate(within: 10))
        usleep(200_000)
        #expect(helpers(of: server).isEmpty)
    }

    /// `verify-worker` processes serving this server's keyring.
    private func helpers(of server: ServerProcess) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { entry in
            guard Int(entry) != nil, let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                !stat.contains(") Z ")
            else { return false }
            let arguments = String(decoding: cmdline, as: UTF8.self)
            return arguments.contains("verify-worker") && arguments.contains(server.root)
        }
    }
}
