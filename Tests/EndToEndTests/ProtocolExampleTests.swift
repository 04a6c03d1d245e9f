import Foundation
import RookeryCore
import Testing

/// docs/examples/enroll-and-submit.sh against the real server: the protocol exactly as
/// docs/protocol.md tells it, spoken with gpg, base64 and curl only. If this fails while the Swift
/// client's tests pass, the document (or the script) no longer matches the server.
@Suite(.serialized) struct ProtocolExampleTests {
    /// Tests/EndToEndTests/ → ../../docs/examples/enroll-and-submit.sh
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../docs/examples/enroll-and-submit.sh").standardized.path

    struct ScriptRun {
        let status: Int32
        /// stdout and stderr together, in the order written.
        let output: String
    }

    /// Runs the example script with bash; a fixed machine id, no enrollment token.
    func runScript(_ arguments: [String]) throws -> ScriptRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [Self.script] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["MACHINE_ID"] = "protocol-example-machine"
        environment["ENROLLMENT_TOKEN"] = nil
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        // Read before waiting, so a full pipe cannot stall the script.
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ScriptRun(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// The value of the script's `fingerprint: ...` line.
    func fingerprint(in output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("fingerprint: ") }
            .map { $0.dropFirst("fingerprint: ".count).trimmingCharacters(in: .whitespaces) }
    }

    func showJSON(_ server: ServerProcess, _ host: String) throws -> JSONValue {
        let shown = try server.admin(["clients", "show", host, "--json"])
        #expect(shown.status == 0, "\(shown.stderr)")
        return try JSONValue.parse(Data(shown.stdout.utf8))
    }

    @Test func scriptEnrollsAndSubmitsAfterAcceptance() throws {
        #expect(FileManager.default.isReadableFile(atPath: Self.script), "missing \(Self.script)")
        let sandbox = try Sandbox()
        let server = try ServerProcess.started(in: sandbox)
        // The script makes this GnuPG home and its key on the first run; inside the sandbox it is
        // removed with it, and its agent is stopped here even if the script could not.
        let home = sandbox.path + "/g"

        // Enroll: a new key, recorded as pending.
        let enrolled = try runScript([server.url, "proto-host", home])
        #expect(enrolled.status == 0, "\(enrolled.output)")
        #expect(enrolled.output.contains("HTTP 200"), "\(enrolled.output)")
        #expect(enrolled.output.contains("pending"), "\(enrolled.output)")
        let key = try #require(fingerprint(in: enrolled.output), "\(enrolled.output)")
        #expect(InputValidation.fingerprint(key) == key)
        let pending = try showJSON(server, "proto-host")
        #expect(pending["fingerprint"] == .string(key))
        #expect(pending["state"] == .string("pending"))
        #expect(pending["machine_id"] == .string("protocol-example-machine"))
        #expect(pending["flags"] == .array([]))

        // The admin accepts it; accept names the fingerprint the script printed.
        let accepted = try server.admin(["clients", "accept", "proto-host"])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(accepted.stdout.contains(key))

        // The same GnuPG home again: the script finds the key and submits.
        let submitted = try runScript([server.url, "proto-host", home])
        #expect(submitted.status == 0, "\(submitted.output)")
        #expect(submitted.output.contains("\"status\":\"stored\""), "\(submitted.output)")
        #expect(fingerprint(in: submitted.output) == key)
        #expect(try server.count("SELECT count(*) FROM submissions") == 1)

        let shown = try showJSON(server, "proto-host")
        #expect(shown["state"] == .string("accepted"))
        let document = try #require(shown["document"], "no document stored")
        #expect(document["plugins"]?["example"]?["script"] == .string("enroll-and-submit.sh"))
        #expect(document["submitted_at"]?.stringValue.flatMap(RFC3339.date(from:)) != nil)
        #expect(document["collected_at"]?.stringValue.flatMap(RFC3339.date(from:)) != nil)
        #expect(shown["last_submission_at"]?.stringValue != nil)

        // Enrolling again with a known key changes nothing and answers its state.
        let again = try runScript([server.url, "proto-host", home, "enroll"])
        #expect(again.status == 0, "\(again.output)")
        #expect(again.output.contains("\"status\":\"accepted\""), "\(again.output)")
        #expect(try server.count("SELECT count(*) FROM devices") == 1)
    }

    @Test func submittingBeforeAcceptanceIsRefused() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess.started(in: sandbox)
        let home = sandbox.path + "/g"

        let enrolled = try runScript([server.url, "early-host", home])
        #expect(enrolled.status == 0, "\(enrolled.output)")
        #expect(enrolled.output.contains("pending"), "\(enrolled.output)")

        // Not accepted yet: 403 not_accepted, the script fails and prints the error body.
        let refused = try runScript([server.url, "early-host", home])
        #expect(refused.status != 0, "\(refused.output)")
        #expect(refused.output.contains("not_accepted"), "\(refused.output)")
        #expect(refused.output.contains("HTTP 403"), "\(refused.output)")
        #expect(try server.count("SELECT count(*) FROM submissions") == 0)
        #expect(try showJSON(server, "early-host")["state"] == .string("pending"))
    }
}
