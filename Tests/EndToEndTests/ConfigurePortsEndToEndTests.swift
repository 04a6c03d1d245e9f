import Foundation
import RookeryCore
import Testing

/// `bin/configure_ports` as an admin types it, on a sandboxed server root: the settings file keeps
/// everything it does not change, and mistakes leave it as it was.
@Suite struct ConfigurePortsEndToEndTests {
    static let settings = """
        # Rookery server settings.
        listen_host: 127.0.0.1
        # the old single port
        listen_port: 8080

        # Mail
        audit:
          mailto: "ops@example.org"   # the admins

        """

    let sandbox: Sandbox
    var root: String { sandbox.path + "/srv" }
    var settingsPath: String { root + "/server/settings.yml" }

    init() throws {
        sandbox = try Sandbox()
        try sandbox.write(Self.settings, to: "srv/server/settings.yml", mode: 0o640)
    }

    func ports(_ arguments: String...) throws -> ProcessOutput {
        try runBinary("rookery", ["configure-ports"] + arguments, root: root)
    }

    func text() throws -> String { try String(contentsOfFile: settingsPath, encoding: .utf8) }

    @Test func addingAndChangingPortsKeepsTheRestOfTheFile() throws {
        #expect(try ports("add", "8443", "--tls-self-signed", "rookery.example.org").status == 0)
        var now = try text()
        #expect(now.hasPrefix("# Rookery server settings.\nlisten_host: 127.0.0.1\n# the old single port\nport:\n  8080: {}\n  8443:\n"), "\(now)")
        #expect(now.contains("# Mail\naudit:\n  mailto: \"ops@example.org\"   # the admins\n"), "\(now)")
        #expect(!now.contains("listen_port"))
        let mode = try FileManager.default.attributesOfItem(atPath: settingsPath)[.posixPermissions] as? Int
        #expect(mode == 0o640, "the file keeps its mode")
        let keyMode = try FileManager.default.attributesOfItem(atPath: root + "/server/tls/port-8443.key")[.posixPermissions] as? Int
        #expect(keyMode == 0o640)

        #expect(try ports("set", "8080", "--deprecated").status == 0)
        #expect(try ports("set", "8443", "--no-tls").status == 0)
        now = try text()
        #expect(now.contains("port:\n  8080:\n    deprecated: true\n  8443: {}\n"), "\(now)")

        let shown = try ports("show")
        #expect(shown.status == 0)
        #expect(shown.stdout.contains("8080  no   yes"), "\(shown.stdout)")
        #expect(try ports("remove", "8080").status == 0)
        let final = try text()
        #expect(final.contains("port:\n  8443: {}\n\n# Mail"), "\(final)")
    }

    /// `add` takes --valid-days as docs/certificates.md says, like `set`.
    @Test func addMakesASelfSignedCertificateValidForTheDaysAskedFor() throws {
        let added = try ports("add", "8443", "--tls-self-signed", "rookery.example.org", "--valid-days", "30")
        #expect(added.status == 0, "\(added.stderr)")
        let shown = try JSONValue.parse(Data(try ports("show", "--json").stdout.utf8))
        guard case .array(let rows)? = shown["ports"],
            let row = rows.first(where: { $0["port"] == .integer(8443) }),
            case .string(let expires)? = row["expires_at"], let expiry = RFC3339.date(from: expires)
        else {
            Issue.record("no expiry for port 8443: \(shown)")
            return
        }
        let days = expiry.timeIntervalSinceNow / 86_400
        #expect(days > 29.9 && days < 30.01, "\(expires)")
    }

    @Test func mistakesAreRefusedAndLeaveTheFileAlone() throws {
        let refusals: [([String], Int32, String)] = [
            (["remove", "8080"], 5, "at least one port"),
            (["add", "8080"], 5, "already configured"),
            (["set", "9999", "--deprecated"], 4, "not configured"),
            (["add", "8443", "--tls-self-signed", "not a host"], 65, "not a host"),
            (["add", "8443", "--certificate", "/nonexistent.pem", "--key", "/nonexistent.key"], 65, "no such file"),
            (["add", "8443", "--tls-self-signed", "a.example", "--no-tls"], 64, "give one of"),
            (["add", "70000"], 64, "1 to 65535"),
            (["client", "--url", "ftp://x"], 64, "http:// or https://"),
            (["client", "--ca-from-port", "8080"], 65, "plain HTTP"),
            (["client", "--url", "https://x.example", "--ca-from-port", "9999"], 4, "not configured"),
            (["set", "8080"], 64, "nothing to change"),
            (["add", "8443", "--valid-days", "30"], 64, "--valid-days goes with --tls-self-signed"),
            (["add", "8443", "--tls-self-signed", "a.example", "--valid-days", "0"], 64, "1 to 3650 days")
        ]
        for (arguments, status, message) in refusals {
            let ran = try runBinary("rookery", ["configure-ports"] + arguments, root: root)
            #expect(ran.status == status, "\(arguments): \(ran.stderr)")
            #expect(ran.stderr.contains(message), "\(arguments): \(ran.stderr)")
            #expect(try text() == Self.settings, "\(arguments) changed the file")
        }
    }

    @Test func aPinnedBundleCarriesOnlyCertificatesAndReleasesShipIt() throws {
        #expect(try ports("add", "8443", "--tls-self-signed", "127.0.0.1").status == 0)
        // A file holding a key beside its certificate: only the certificate may reach devices.
        let mixed =
            try String(contentsOfFile: root + "/server/tls/port-8443.key", encoding: .utf8)
            + String(contentsOfFile: root + "/server/tls/port-8443.pem", encoding: .utf8)
        try sandbox.write(mixed, to: "mixed.pem")
        let pinned = try ports("client", "--url", "https://127.0.0.1:8443", "--ca-file", sandbox.path + "/mixed.pem")
        #expect(pinned.status == 0, "\(pinned.stderr)")
        let bundle = try String(contentsOfFile: root + "/server/tls/client-ca.pem", encoding: .utf8)
        #expect(bundle.contains("BEGIN CERTIFICATE") && !bundle.contains("PRIVATE KEY"))
        let edited = try text()
        #expect(edited.contains("client_ca_file: \"server/tls/client-ca.pem\""), "\(edited)")
        #expect(edited.contains("client_server_url: \"https://127.0.0.1:8443\""), "\(edited)")

        try sandbox.write("#!/bin/sh\nexit 0\n", to: "client-binary", mode: 0o755)
        let release = try runBinary(
            "rookery", ["client-release", "--yes", "--source", root, "--binary", sandbox.path + "/client-binary"],
            root: root)
        #expect(release.status == 0 && release.stderr.isEmpty, "\(release.stderr)")
        #expect(release.stdout.contains("pin the CA in"), "\(release.stdout)")
        let listing = try runProcess("/bin/tar", ["-tzf", root + "/var/client_releases/release-1.tar.gz"], environment: [:])
        #expect(listing.stdout.contains("client/server-ca.pem"), "\(listing.stdout)")

        // Replacing the certificate releases pin would cut devices off: refused without --force.
        let before = try String(contentsOfFile: root + "/server/tls/port-8443.pem", encoding: .utf8)
        let refused = try ports("set", "8443", "--tls-self-signed", "127.0.0.1")
        #expect(refused.status == 5 && refused.stderr.contains("RENEWING A PINNED CERTIFICATE"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: root + "/server/tls/port-8443.pem", encoding: .utf8) == before)
        #expect(try ports("set", "8443", "--tls-self-signed", "127.0.0.1", "--force").status == 0)
        #expect(try String(contentsOfFile: root + "/server/tls/port-8443.pem", encoding: .utf8) != before)

        #expect(try ports("client", "--no-ca").status == 0)
        #expect(try text().contains("client_ca_file: \"\""))
    }

    @Test func aReleaseShipsOnlyTheCertificatesOfAHandWrittenCAFile() throws {
        #expect(try ports("add", "8443", "--tls-self-signed", "127.0.0.1").status == 0)
        let mixed =
            try String(contentsOfFile: root + "/server/tls/port-8443.key", encoding: .utf8)
            + String(contentsOfFile: root + "/server/tls/port-8443.pem", encoding: .utf8)
        try sandbox.write(Self.settings + "client_ca_file: \(sandbox.path)/mixed.pem\n", to: "srv/server/settings.yml")
        try sandbox.write(mixed, to: "mixed.pem")
        try sandbox.write("#!/bin/sh\nexit 0\n", to: "client-binary", mode: 0o755)
        let release = try runBinary(
            "rookery", ["client-release", "--yes", "--source", root, "--binary", sandbox.path + "/client-binary"],
            root: root)
        #expect(release.status == 0, "\(release.stderr)")
        // Without client_server_url, the release sends devices to listen_host's first port.
        #expect(
            release.stderr.contains("warning: client_server_url is empty, so devices will be sent to http://127.0.0.1:8080"),
            "\(release.stderr)")
        let shipped = try runProcess(
            "/bin/tar", ["-xzOf", root + "/var/client_releases/release-1.tar.gz", "client/server-ca.pem"],
            environment: [:])
        #expect(shipped.stdout.contains("BEGIN CERTIFICATE"), "\(shipped.stderr)")
        #expect(!shipped.stdout.contains("PRIVATE KEY"), "the key stays on the server")
    }
}
