import Foundation
import Logging
import RookeryCore
@testable import RookeryServer

/// A throw-away directory with a short path (gpg-agent socket paths are limited to ~100 chars).
final class Sandbox {
    let path: String
    private var gnupgHomes: [String] = []

    init() throws {
        var template = Array("/tmp/rk-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SettingsError("mkdtemp failed") }
        path = String(cString: made)
    }

    func directory(_ name: String) throws -> String {
        let dir = path + "/" + name
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func trackGnuPGHome(_ home: String) { gnupgHomes.append(home) }

    deinit {
        for home in gnupgHomes { OpenPGP(homeDirectory: home).stopAgent() }
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// A device key of its own, used to sign requests the way a client does.
struct TestDevice {
    let openPGP: OpenPGP
    let fingerprint: String
    let host: String

    /// `name` picks the GnuPG home; `host` is the hostname the device reports (default: name).
    init(_ sandbox: Sandbox, name: String, host: String? = nil) throws {
        let home = try sandbox.directory("g-" + name)
        sandbox.trackGnuPGHome(home)
        openPGP = OpenPGP(homeDirectory: home)
        try openPGP.prepareHome()
        fingerprint = try openPGP.generateSigningKey(userID: "test \(name)")
        self.host = host ?? name
    }

    func enrollFields(machineID: String? = nil, token: String? = nil) throws -> [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "public_key": .string(try openPGP.exportPublicKey(fingerprint: fingerprint)),
            "machine_id": .string(machineID ?? "machine-" + host),
        ]
        if let token { fields["enrollment_token"] = .string(token) }
        return fields
    }

    static func submitFields(id: String = UUID().uuidString, plugins: [String: JSONValue]) -> [String: JSONValue] {
        ["submission_id": .string(id), "plugins": .object(plugins),
         "collected_at": .string(RFC3339.string(from: Date()))]
    }

    func sign(_ endpoint: WireProtocol.Endpoint, _ fields: [String: JSONValue], now: Date = Date()) throws -> SignedRequest {
        try SignedRequest.make(endpoint: endpoint, fields: fields, host: host, fingerprint: fingerprint,
                               signer: openPGP, now: now)
    }
}

/// A server install root with its own settings, database and keyring.
func makeServerContext(_ sandbox: Sandbox, configure: (inout ServerSettings) -> Void = { _ in }) throws -> ServerContext {
    var settings = ServerSettings()
    settings.listenPort = 0
    settings.database = "var/server/test.sqlite"
    configure(&settings)
    let root = InstallRoot(path: try sandbox.directory("server"))
    sandbox.trackGnuPGHome(root.serverGnuPGHome)
    return try ServerContext(root: root, settings: settings)
}

let quietLogger: Logger = {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}()
