import Foundation
import RookeryCore
import Testing

/// The real server on three ports of 127.0.0.1, set up with `configure-ports` as an admin would:
/// plain HTTP, a deprecated TLS port and a current one, each TLS port with its own self-signed
/// certificate. Real clients verify those certificates through libcurl against what they pin.
@Suite struct TLSEndToEndTests {
    struct Fleet {
        let sandbox: Sandbox
        let root: String
        let plain: Int, old: Int, current: Int
        var tlsDirectory: String { root + "/server/tls" }

        init() throws {
            sandbox = try Sandbox()
            root = sandbox.path + "/srv"
            (plain, old, current) = (
                try PortsEndToEndTests.freePort(), try PortsEndToEndTests.freePort(),
                try PortsEndToEndTests.freePort()
            )
            try sandbox.write("listen_host: 127.0.0.1\nlisten_port: \(plain)\n", to: "srv/server/settings.yml")
            try sandbox.write(
                """
                checks:
                  - name: deprecated-port
                    description: The device uses a port that is being retired
                    computed: deprecated-port
                """, to: "srv/server/issues.yml")
        }

        @discardableResult
        func configure(_ arguments: [String]) throws -> ProcessOutput {
            let ran = try runBinary("rookery", ["configure-ports"] + arguments, root: root)
            #expect(ran.status == 0, "configure-ports \(arguments): \(ran.stderr)")
            return ran
        }

        /// A device talking to `port` over https, pinning the certificates in `pinned` (PEM files).
        func device(_ name: String, port: Int, pinned: [String]) throws -> ClientRoot {
            let client = try ClientRoot(sandbox: sandbox, name: name, serverURL: "https://127.0.0.1:\(port)")
            let bundle = try pinned.map { try String(contentsOfFile: $0, encoding: .utf8) }.joined()
            // Where a release puts the CA it pins (client/server-ca.pem beside release.yml).
            if !pinned.isEmpty { try sandbox.write(bundle, to: name + "/client/server-ca.pem") }
            return client
        }
    }

    @Test func pinnedDevicesSubmitOverTLSAndADeprecatedTLSPortRaisesAnIssueUntilTheDeviceMoves() throws {
        let fleet = try Fleet()
        try fleet.configure(["add", "\(fleet.old)", "--tls-self-signed", "127.0.0.1", "--tls-self-signed", "localhost", "--deprecated"])
        try fleet.configure(["add", "\(fleet.current)", "--tls-self-signed", "127.0.0.1"])
        try fleet.configure([
            "client", "--url", "https://127.0.0.1:\(fleet.current)",
            "--ca-from-port", "\(fleet.old)", "--ca-from-port", "\(fleet.current)"
        ])
        let shown = try fleet.configure(["show", "--json"])
        #expect(shown.stdout.contains("\"port\":\(fleet.old)") && shown.stdout.contains("\"deprecated\":true"), "\(shown.stdout)")
        #expect(shown.stdout.contains("\"ca_file\":\"server/tls/client-ca.pem\""), "\(shown.stdout)")
        #expect(
            shown.stdout.contains("\"self_signed\":true") && shown.stdout.contains("\"names\":[\"127.0.0.1\",\"localhost\"]"),
            "\(shown.stdout)")
        let server = try PortsEndToEndTests.startServer(root: fleet.root, ports: [fleet.plain, fleet.old, fleet.current])
        defer {
            server.terminate()
            server.waitUntilExit()
        }

        // One device on the deprecated TLS port, pinning the bundle configure-ports made.
        let bundle = fleet.tlsDirectory + "/client-ca.pem"
        var laptop = try fleet.device("laptop", port: fleet.old, pinned: [bundle])
        #expect(try laptop.run("enroll").status == 0)
        #expect(try runBinary("rookery", ["clients", "accept", "laptop"], root: fleet.root).status == 0)
        try laptop.run("collect")
        let delivered = try laptop.run("submit")
        #expect(delivered.status == 0 && delivered.stdout.contains("delivered 1"), "\(delivered.stdout)\(delivered.stderr)")
        // Another on plain HTTP, served by the same process at the same time.
        let desktop = try ClientRoot(sandbox: fleet.sandbox, name: "desktop", serverURL: "http://127.0.0.1:\(fleet.plain)")
        #expect(try desktop.run("enroll").status == 0)
        #expect(try runBinary("rookery", ["clients", "accept", "desktop"], root: fleet.root).status == 0)
        try desktop.run("collect")
        #expect(try desktop.run("submit").status == 0)

        var audit = try runBinary("rookery", ["issues", "audit", "--json"], root: fleet.root)
        #expect(audit.stdout.contains("\"deprecated-port\"") && audit.stdout.contains("\(fleet.old)"), "\(audit.stdout)")
        #expect(!audit.stdout.contains("desktop"), "the plain port is current: \(audit.stdout)")

        // The device moves to the current TLS port, as its next release would make it.
        laptop = try fleet.device("laptop", port: fleet.current, pinned: [bundle])
        try laptop.run("collect")
        #expect(try laptop.run("submit").status == 0)
        audit = try runBinary("rookery", ["issues", "audit", "--json"], root: fleet.root)
        #expect(audit.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]", "\(audit.stdout)")
    }

    @Test func aDevicePinningAnotherCAOrNoneRefusesTheServer() throws {
        let fleet = try Fleet()
        try fleet.configure(["add", "\(fleet.old)", "--tls-self-signed", "127.0.0.1"])
        try fleet.configure(["add", "\(fleet.current)", "--tls-self-signed", "127.0.0.1"])
        let server = try PortsEndToEndTests.startServer(root: fleet.root, ports: [fleet.old, fleet.current])
        defer {
            server.terminate()
            server.waitUntilExit()
        }

        // Same subject name, different key: only the signature tells them apart.
        let wrong = try fleet.device("wrong", port: fleet.current, pinned: [fleet.tlsDirectory + "/port-\(fleet.old).pem"])
        let refused = try wrong.run("enroll")
        #expect(refused.status == 3)
        #expect((refused.stdout + refused.stderr).contains("certificate"), "\(refused.stdout)\(refused.stderr)")
        // What to do: the pin is the server's to change, for the port this device uses.
        let pinHint = "hint: this device trusts only the CA its release pins (\(wrong.root)/client/server-ca.pem)"
        let pinCommand = "`bin/configure_ports client --ca-from-port \(fleet.current)` (or `--ca-file PEM`)"
        #expect(refused.stderr.contains(pinHint) && refused.stderr.contains(pinCommand), "\(refused.stderr)")
        #expect(!refused.stderr.contains("Usage:"), "not a usage error: \(refused.stderr)")
        try wrong.run("collect")
        let kept = try wrong.run("submit")
        #expect(kept.status == 3, "nothing delivered, kept for later")
        #expect(kept.stderr.contains(pinHint) && kept.stderr.contains(pinCommand), "\(kept.stdout)\(kept.stderr)")
        #expect(kept.stderr.components(separatedBy: "hint: ").count == 2, "said once: \(kept.stderr)")
        // Where cron runs find it: client.log.
        let log = try String(contentsOfFile: wrong.root + "/var/client/client.log", encoding: .utf8)
        #expect(log.contains("info " + pinHint), "\(log)")
        #expect(wrong.queued().count == 1)

        // Nothing pinned: the system's CAs, which do not know a self-signed certificate.
        let unpinned = try fleet.device("unpinned", port: fleet.current, pinned: [])
        let alsoRefused = try unpinned.run("enroll")
        #expect(alsoRefused.status == 3)
        #expect((alsoRefused.stdout + alsoRefused.stderr).contains("certificate"), "\(alsoRefused.stderr)")
        #expect(alsoRefused.stderr.contains("hint: this device's release pins no CA"), "\(alsoRefused.stderr)")
        #expect(alsoRefused.stderr.contains(pinCommand) && alsoRefused.stderr.contains("bin/client_download --ca-file PEM"), "\(alsoRefused.stderr)")
        // A pin that is no PEM certificate: the device stops rather than trust the system's CAs.
        try fleet.sandbox.write("not a certificate\n", to: "garbled.pem")
        let garbled = try fleet.device("garbled", port: fleet.current, pinned: [fleet.sandbox.path + "/garbled.pem"])
        let unusable = try garbled.run("enroll")
        #expect(unusable.status == 3, "\(unusable.stderr)")
        #expect(
            unusable.stderr.contains("hint: the CA file this device's release pins (\(garbled.root)/client/server-ca.pem) cannot be used"),
            "\(unusable.stderr)")
        // A port nobody listens on is not a certificate problem: no pin to suggest there.
        let closed = try fleet.device("closed", port: try PortsEndToEndTests.freePort(), pinned: [])
        let unreachable = try closed.run("enroll")
        #expect(unreachable.status == 3 && !unreachable.stderr.contains("hint:"), "\(unreachable.stderr)")
        #expect(try runBinary("rookery", ["clients", "list", "--json"], root: fleet.root).stdout.contains("wrong") == false)

        // The right pin on the same port works, so the refusals above were the pins' doing.
        let right = try fleet.device("right", port: fleet.current, pinned: [fleet.tlsDirectory + "/port-\(fleet.current).pem"])
        #expect(try right.run("enroll").status == 0)
    }

    @Test func aNewDeviceBootstrapsOverTLSAndKeepsThePinItsReleaseCarries() throws {
        let fleet = try Fleet()
        let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        try fleet.configure(["add", "\(fleet.current)", "--tls-self-signed", "127.0.0.1"])
        try fleet.configure(["client", "--url", "https://127.0.0.1:\(fleet.current)", "--ca-from-port", "\(fleet.current)"])
        let settings = try String(contentsOfFile: fleet.root + "/server/settings.yml", encoding: .utf8)
        try fleet.sandbox.write(settings + "release_download: true\n", to: "srv/server/settings.yml")
        let server = try PortsEndToEndTests.startServer(root: fleet.root, ports: [fleet.plain, fleet.current])
        defer {
            server.terminate()
            server.waitUntilExit()
        }
        try fleet.sandbox.write("#!/bin/sh\nexec \(binaryDirectory)/rookery-client \"$@\"\n", to: "client-bin", mode: 0o755)
        let published = try runBinary(
            "rookery", ["client-release", "--yes", "--source", checkout, "--binary", fleet.sandbox.path + "/client-bin"],
            root: fleet.root)
        #expect(published.status == 0, "\(published.stderr)")

        let download = { (extra: [String]) in
            try runProcess(
                checkout + "/bin/client_download",
                ["--server", "https://127.0.0.1:\(fleet.current)", "--output", fleet.sandbox.path + "/release.tar.gz"] + extra,
                environment: ["PATH": "/usr/bin:/bin"])
        }
        let unpinned = try download([])
        #expect(unpinned.status == 3 && unpinned.stderr.contains("certificate could not be verified"), "\(unpinned.stderr)")
        #expect(unpinned.stderr.contains("give --ca-file PEM"), "what to do: \(unpinned.stderr)")
        // A port nobody listens on is not a certificate problem: no --ca-file hint there.
        let closed = try runProcess(
            checkout + "/bin/client_download",
            [
                "--server", "https://127.0.0.1:\(try PortsEndToEndTests.freePort())",
                "--output", fleet.sandbox.path + "/none.tar.gz"
            ], environment: ["PATH": "/usr/bin:/bin"])
        #expect(closed.status == 3 && closed.stderr.contains("cannot reach"), "\(closed.stderr)")
        #expect(!closed.stderr.contains("--ca-file"), "\(closed.stderr)")
        let pinned = try download(["--ca-file", fleet.tlsDirectory + "/client-ca.pem"])
        #expect(pinned.status == 0, "\(pinned.stderr)")

        let unpacked = try fleet.sandbox.directory("unpacked")
        #expect(try runProcess("/bin/tar", ["-C", unpacked, "-xzf", fleet.sandbox.path + "/release.tar.gz"], environment: [:]).status == 0)
        let device = fleet.sandbox.path + "/dev"
        let setup = try runProcess(
            unpacked + "/client/client-setup.sh", ["--root", device, "--yes", "--no-cron", "--no-packages"],
            environment: ProcessInfo.processInfo.environment)
        #expect(setup.status == 0, "\(setup.stdout) \(setup.stderr)")
        #expect(
            try String(contentsOfFile: device + "/client/server-ca.pem", encoding: .utf8)
                == String(contentsOfFile: fleet.tlsDirectory + "/client-ca.pem", encoding: .utf8))
        try fleet.sandbox.write("hostname: boot1\nsystem_root: \(device)\n", to: "dev/client/settings.yml")
        let enrolled = try runBinary("rookery-client", ["enroll"], root: device)
        #expect(enrolled.status == 0, "\(enrolled.stdout)\(enrolled.stderr)")
    }

    @Test func aBrokenCertificateStopsTheServerAtStartSayingWhich() throws {
        let fleet = try Fleet()
        try fleet.configure(["add", "\(fleet.current)", "--tls-self-signed", "127.0.0.1"])
        // The key of another certificate: the server must not start with a pair that cannot work.
        try fleet.configure(["add", "\(fleet.old)", "--tls-self-signed", "127.0.0.1"])
        try FileManager.default.removeItem(atPath: fleet.tlsDirectory + "/port-\(fleet.current).key")
        try FileManager.default.copyItem(
            atPath: fleet.tlsDirectory + "/port-\(fleet.old).key",
            toPath: fleet.tlsDirectory + "/port-\(fleet.current).key")
        let ran = try runBinary("rookery", ["server"], root: fleet.root)
        #expect(ran.status == 64, "\(ran.stderr)")
        #expect(ran.stderr.contains("port \(fleet.current)") && ran.stderr.contains("does not belong to the certificate"), "\(ran.stderr)")

        // A certificate file that is gone: the server names it rather than serve plain HTTP.
        try FileManager.default.removeItem(atPath: fleet.tlsDirectory + "/port-\(fleet.old).pem")
        try FileManager.default.removeItem(atPath: fleet.tlsDirectory + "/port-\(fleet.current).key")
        try FileManager.default.copyItem(
            atPath: fleet.tlsDirectory + "/port-\(fleet.old).key",
            toPath: fleet.tlsDirectory + "/port-\(fleet.current).key")
        try fleet.configure(["set", "\(fleet.current)", "--tls-self-signed", "127.0.0.1"])
        let missing = try runBinary("rookery", ["server"], root: fleet.root)
        #expect(missing.status == 64, "\(missing.stderr)")
        #expect(missing.stderr.contains("port \(fleet.old)") && missing.stderr.contains("no such file"), "\(missing.stderr)")
    }
}
