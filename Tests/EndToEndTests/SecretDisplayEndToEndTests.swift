import Foundation
import RookeryCore
import Testing

/// A real client submits a plugin result holding a secret value, as a device encrypts a selected
/// field; the real `rookery` shows it as `[secret]` in `clients show` (text and JSON, document and
/// history) and the audit reports a check on it as not evaluable. The ciphertext and the hash
/// never appear in what the admin sees.
@Suite(.serialized) struct SecretDisplayEndToEndTests {
    /// Two encryptions of the serial: what a device sends at its first and its second collection.
    static let ciphertexts = ["first", "second"].map { Data("\($0) OpenPGP message of the serial".utf8).base64EncodedString() }
    static let hashes = ["5f1c" + String(repeating: "0d9e", count: 15), "a77b" + String(repeating: "3c21", count: 15)]
    static let forbidden = ciphertexts + hashes

    static let checks = """
        checks:
          - name: known-serial
            description: the serial is on the stolen list
            condition:
              path: plugins.hardware.serial
              in: [ABC123, DEF456]
            missing: fail
        """

    /// c1 with two collections submitted; its hardware plugin prints the serial as a secret value.
    func fleet(_ sandbox: Sandbox) throws -> ServerProcess {
        let server = try ServerProcess(sandbox: sandbox)
        try sandbox.write(Self.checks, to: "srv/server/issues.yml")
        try server.start()
        let client = try ClientRoot(sandbox: sandbox, name: "c1", serverURL: server.url)
        try sandbox.write("#!/bin/sh\ncat \"$ROOKERY_HOME/hardware.json\"\n", to: "c1/client/plugins/hardware.sh", mode: 0o755)
        #expect(try client.run("enroll").status == 0)
        #expect(try server.admin(["clients", "accept", "c1"]).status == 0)
        // The server keeps secret values at selected paths only.
        #expect(try server.admin(["secret-keeping", "select", "plugins.hardware.serial"]).status == 0)
        for (ciphertext, hash) in zip(Self.ciphertexts, Self.hashes) {
            try sandbox.write(
                #"{"model": "X1", "serial": {"secret": "\#(ciphertext)", "hash": "\#(hash)"}}"#,
                to: "c1/hardware.json")
            #expect(try client.run("collect").status == 0)
            let submitted = try client.run("submit")
            #expect(submitted.status == 0, "\(submitted.stderr)")
        }
        return server
    }

    func expectNoSecretText(_ output: ProcessOutput, sourceLocation: SourceLocation = #_sourceLocation) {
        for text in Self.forbidden {
            #expect(!output.stdout.contains(text) && !output.stderr.contains(text), sourceLocation: sourceLocation)
        }
    }

    @Test func clientsShowPrintsSecretsAsPlaceholders() throws {
        let sandbox = try Sandbox()
        let server = try fleet(sandbox)

        // Enough history for the first submission's rows too.
        let text = try server.admin(["clients", "show", "c1", "--history", "500"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("\n  plugins.hardware.serial = [secret]\n"))
        #expect(text.stdout.contains(#"  plugins.hardware.model = "X1""#))
        #expect(text.stdout.contains(" plugins.hardware.serial: (none) -> [secret]"))
        #expect(text.stdout.contains(" plugins.hardware.serial: [secret] -> [secret]"))
        expectNoSecretText(text)

        let json = try server.admin(["clients", "show", "c1", "--history", "500", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let shown = try JSONValue.parse(Data(json.stdout.utf8))
        #expect(shown["document"]?["plugins"]?["hardware"]?["serial"] == .string("[secret]"))
        guard case .array(let history)? = shown["history"] else {
            Issue.record("no history: \(json.stdout)")
            return
        }
        let serialChanges = history.filter { $0["path"] == .string("plugins.hardware.serial") }
        #expect(serialChanges.count == 2)
        #expect(serialChanges.allSatisfy { $0["new"] == .string("[secret]") })
        expectNoSecretText(json)
    }

    @Test func theAuditReportsACheckOnASecretAsNotEvaluable() throws {
        let sandbox = try Sandbox()
        let server = try fleet(sandbox)

        let text = try server.admin(["issues", "audit", "--full"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(
            text.stdout.contains(
                "known-serial: the serial is on the stolen list [cannot tell]\n"
                    + "      not evaluable: plugins.hardware.serial is secret\n"), "\(text.stdout)")
        expectNoSecretText(text)

        let json = try server.admin(["issues", "audit", "--full", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        guard case .array(let devices) = try JSONValue.parse(Data(json.stdout.utf8)),
            case .array(let issues)? = devices.first?["issues"]
        else {
            Issue.record("not a report: \(json.stdout)")
            return
        }
        #expect(issues.map { $0["status"] } == [.string("unknown")])
        #expect(issues.map { $0["detail"] } == [.string("not evaluable: plugins.hardware.serial is secret")])
        expectNoSecretText(json)

        // missing: fail does not make a secret fail.
        let open = try server.admin(["issues", "list", "--json"])
        #expect(try JSONValue.parse(Data(open.stdout.utf8)) == .array([]))
        let dryRun = try server.admin(["issues", "check", "known-serial", "--dry-run"])
        #expect(dryRun.stdout.contains("0 devices would fail, 1 cannot be judged"), "\(dryRun.stdout) \(dryRun.stderr)")
        #expect(dryRun.stdout.contains("not evaluable: plugins.hardware.serial is secret"))
    }
}
