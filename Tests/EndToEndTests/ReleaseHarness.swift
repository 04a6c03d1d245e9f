import Foundation
import RookeryCore
import Testing

/// A real server with a client release source tree, and accepted devices that pin its key, as a
/// device set up from a release would. Devices ask for updates on every run (update_interval 0).
final class ReleaseFleet {
    let sandbox: Sandbox
    let server: ServerProcess
    /// The tree `client-release --source` ships: plugins, and a client "binary" that runs the
    /// real debug build (small, so releases stay quick to make in tests).
    let source: String
    private(set) var clients: [ClientRoot] = []

    init(devices: [String], settings: String = "") throws {
        sandbox = try Sandbox()
        server = try ServerProcess.started(in: sandbox)
        // Releases name the server, as an admin's do (`client_server_url`): the release's URL wins
        // over a device's own server_url.
        try sandbox.write(
            "listen_host: 127.0.0.1\nlisten_port: 0\nclient_server_url: \(server.url)\n",
            to: "srv/server/settings.yml")
        source = try sandbox.directory("src")
        for name in devices { clients.append(try addDevice(name, settings: settings)) }
    }

    func addDevice(_ name: String, settings: String = "") throws -> ClientRoot {
        let client = try server.acceptedClient(
            sandbox: sandbox, name: name, collections: 1,
            settings: "update_interval: 0\n" + settings)
        let submitted = try client.run("submit")
        guard submitted.status == 0 else { throw SettingsError("\(name) could not submit: \(submitted.stdout) \(submitted.stderr)") }
        let key = try String(contentsOfFile: server.root + "/server/server-key.asc", encoding: .utf8)
        try sandbox.write(key, to: name + "/client/server-key.asc")
        return client
    }

    subscript(_ name: String) -> ClientRoot { clients.first { $0.name == name }! }

    /// Publishes a release whose `version` plugin reports `version`; returns its number.
    @discardableResult
    func publish(version: Int, extraFiles: [String: String] = [:]) throws -> Int {
        try Self.publish(on: server, from: sandbox, version: version, extraFiles: extraFiles)
    }

    /// Publishes `sandbox`'s `src/` tree with a `version` plugin reporting `version`, and a client
    /// "binary" that runs the real debug build; returns the release's number.
    @discardableResult
    static func publish(
        on server: ServerProcess, from sandbox: Sandbox, version: Int,
        extraFiles: [String: String] = [:]
    ) throws -> Int {
        try sandbox.write("#!/bin/sh\nexec \(binaryDirectory)/rookery-client \"$@\"\n", to: "src-bin/rookery-client", mode: 0o755)
        try sandbox.write("#!/bin/sh\necho '{\"v\": \(version)}'\n", to: "src/client/plugins/version.sh", mode: 0o755)
        try sandbox.write(ClientRoot.counterPlugin, to: "src/client/plugins/counter.sh", mode: 0o755)
        for (path, text) in extraFiles { try sandbox.write(text, to: "src/" + path) }
        let made = try server.admin([
            "client-release", "--source", sandbox.path + "/src",
            "--binary", sandbox.path + "/src-bin/rookery-client", "--json", "--yes"
        ])
        guard made.status == 0, case .array(let records) = try JSONValue.parse(Data(made.stdout.utf8)),
            let number = records.first?["number"]?.integerValue
        else {
            throw SettingsError("client-release failed: \(made.stderr)")
        }
        return Int(number)
    }

    var releaseDirectory: String { server.root + "/var/client_releases" }

    /// A release's record file, to rewrite when a test tampers with the tarball.
    func rewriteRecord(_ number: Int, tarball: Data) throws {
        let path = releaseDirectory + "/release-\(number).json"
        var record = try JSONValue.parse(Data(contentsOf: URL(fileURLWithPath: path))).objectValue ?? [:]
        record["size"] = .integer(Int64(tarball.count))
        record["sha256"] = .string(ReleaseManifest.sha256Hex(tarball))
        try tarball.write(to: URL(fileURLWithPath: releaseDirectory + "/release-\(number).tar.gz"))
        try JSONValue.object(record).serialized().write(to: URL(fileURLWithPath: path))
    }

    func tarball(_ number: Int) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: releaseDirectory + "/release-\(number).tar.gz"))
    }

    /// The device's release number as `status` reports it.
    func release(of client: ClientRoot) throws -> Int {
        let status = try JSONValue.parse(Data(try client.run("status", "--json").stdout.utf8))
        return Int(status["release"]?.integerValue ?? -1)
    }

    /// `update --json`, parsed, with the exit status.
    func update(_ client: ClientRoot) throws -> (status: Int32, report: JSONValue) {
        let ran = try client.run("update", "--json")
        let report = (try? JSONValue.parse(Data(ran.stdout.utf8))) ?? .null
        return (ran.status, report)
    }

    /// The latest document the server holds for a device.
    func document(of name: String) throws -> JSONValue {
        let shown = try server.admin(["clients", "show", name, "--json"])
        return try JSONValue.parse(Data(shown.stdout.utf8))["document"] ?? .null
    }
}
