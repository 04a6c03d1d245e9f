import Foundation
import RookeryCore
import Testing

/// A new device set up from the latest release, fetched with `bin/client_download`.
@Suite(.serialized) struct BootstrapEndToEndTests {
    /// The checkout: its bin/ and client/ files are what a real release ships.
    let checkout = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    @Test func aNewDeviceIsSetUpFromTheDownloadedRelease() throws {
        let sandbox = try Sandbox()
        // Started once to learn its port, then again with settings that name it.
        let server = try ServerProcess.started(in: sandbox)
        try sandbox.write(
            "listen_host: 127.0.0.1\nlisten_port: 0\nrelease_download: true\nclient_server_url: \(server.url)\n",
            to: "srv/server/settings.yml")
        server.kill()
        try server.start()
        try sandbox.write("#!/bin/sh\nexec \(binaryDirectory)/rookery-client \"$@\"\n", to: "client-bin", mode: 0o755)

        // Nothing published yet: the download says so.
        let early = try download(server, to: sandbox.path + "/early.tar.gz")
        #expect(early.status == 3)
        #expect(early.stderr.contains("404"))

        let published = try server.admin(["client-release", "--yes", "--source", checkout, "--binary", sandbox.path + "/client-bin"])
        #expect(published.status == 0, "\(published.stderr)")
        let fetched = try download(server, to: sandbox.path + "/release.tar.gz")
        #expect(fetched.status == 0, "\(fetched.stderr)")

        // Unpack and run the setup script it carries, as an admin would on the new device.
        let unpacked = try sandbox.directory("unpacked")
        #expect(try runProcess("/bin/tar", ["-C", unpacked, "-xzf", sandbox.path + "/release.tar.gz"], environment: [:]).status == 0)
        let device = sandbox.path + "/dev"
        let setup = try runProcess(
            unpacked + "/client/client-setup.sh",
            ["--root", device, "--yes", "--no-cron", "--no-packages"],
            environment: ProcessInfo.processInfo.environment)
        #expect(setup.status == 0, "\(setup.stdout) \(setup.stderr)")
        #expect(
            try String(contentsOfFile: device + "/client/server-key.asc", encoding: .utf8)
                == String(contentsOfFile: server.root + "/server/server-key.asc", encoding: .utf8))

        // The release's settings apply under the device's own: it knows its server and release.
        let status = try JSONValue.parse(Data(try runBinary("rookery-client", ["status", "--json"], root: device).stdout.utf8))
        #expect(status["server_url"] == .string(server.url))
        #expect(status["release"] == .integer(1))
        try sandbox.write("hostname: boot1\nsystem_root: \(device)\n", to: "dev/client/settings.yml")
        #expect(try runBinary("rookery-client", ["enroll"], root: device).status == 0)
        #expect(try server.admin(["clients", "accept", "boot1"]).status == 0)
        #expect(try runBinary("rookery-client", ["update"], root: device).status == 0)
    }

    @Test func downloadIsOffUnlessEnabled() throws {
        let sandbox = try Sandbox()
        let server = try ServerProcess.started(in: sandbox)
        let refused = try download(server, to: sandbox.path + "/x.tar.gz")
        #expect(refused.status == 3)
        #expect(refused.stderr.contains("403"))
        #expect(refused.stderr.contains("release_download"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/x.tar.gz"))
    }

    private func download(_ server: ServerProcess, to output: String) throws -> ProcessOutput {
        try runProcess(
            checkout + "/bin/client_download", ["--server", server.url, "--output", output],
            environment: ["PATH": "/usr/bin:/bin"])
    }
}
