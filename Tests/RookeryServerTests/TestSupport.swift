import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import RookeryCore
@_exported import RookeryTestSupport
import Testing

@testable import RookeryServer

/// A device key of its own, used to sign requests the way a client does.
struct TestDevice {
    let openPGP: OpenPGP
    let fingerprint: String
    let host: String

    /// `name` picks the GnuPG home; `host` is the hostname the device reports (default: name).
    init(_ sandbox: Sandbox, name: String, host: String? = nil) throws {
        let home = try sandbox.directory("g-" + name)
        openPGP = OpenPGP(homeDirectory: home)
        try openPGP.prepareHome()
        fingerprint = try openPGP.generateSigningKey(userID: "test \(name)")
        self.host = host ?? name
    }

    func enrollFields(machineID: String? = nil, token: String? = nil) throws -> [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "public_key": .string(try openPGP.exportPublicKey(fingerprint: fingerprint)),
            "machine_id": .string(machineID ?? "machine-" + host)
        ]
        if let token { fields["enrollment_token"] = .string(token) }
        return fields
    }

    static func submitFields(id: String = UUID().uuidString, plugins: [String: JSONValue]) -> [String: JSONValue] {
        [
            "submission_id": .string(id), "plugins": .object(plugins),
            "collected_at": .string(RFC3339.string(from: Date()))
        ]
    }

    /// `bindsEndpoint: false` leaves the `endpoint` member out, as a client before protocol
    /// revision 2 did.
    func sign(
        _ endpoint: WireProtocol.Endpoint, _ fields: [String: JSONValue], now: Date = Date(),
        bindsEndpoint: Bool = true
    ) throws -> SignedRequest {
        try SignedRequest.make(
            endpoint: endpoint, fields: fields, host: host, fingerprint: fingerprint,
            signer: openPGP, now: now, bindsEndpoint: bindsEndpoint)
    }
}

/// A server install root with its own settings, database and keyring. The database is a
/// SQLite file in the sandbox, or, when bin/test runs the suites again with
/// ROOKERY_TEST_DATABASE=postgresql, a database of its own on the test cluster.
func makeServerContext(_ sandbox: Sandbox, configure: (inout ServerSettings) -> Void = { _ in }) async throws -> ServerContext {
    var settings = ServerSettings()
    settings.listenPort = 0
    try await StoreBackend.current.configure(&settings)
    // The suites run once as they are (native checks) and once with ROOKERY_TEST_VERIFY_WITH=gpgme.
    if let checker = ProcessInfo.processInfo.environment["ROOKERY_TEST_VERIFY_WITH"].flatMap(SignatureChecker.init) {
        settings.verifyWith = checker
    }
    configure(&settings)
    let root = InstallRoot(path: try sandbox.directory("server"))
    return try await ServerContext(root: root, settings: settings)
}

let quietLogger: Logger = {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}()

/// Serves `context`'s application (`.live`: real HTTP on 127.0.0.1; `.router`: the router
/// without a socket), enrolls `devices` through the real endpoint and accepts them, then runs
/// `test` with the client.
func withServer(
    _ context: ServerContext, accepting devices: [TestDevice], over setup: TestingSetup = .live,
    _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
    let app = try buildApplication(context: context, logger: quietLogger)
    try await app.test(setup) { client in
        try await enrollAndAccept(devices, in: context, through: client)
        try await test(client)
    }
}

/// Enrolls each device through the real endpoint and accepts it, as an admin would.
func enrollAndAccept(
    _ devices: [TestDevice], in context: ServerContext,
    through client: some TestClientProtocol
) async throws {
    for device in devices {
        #expect(try await post(client, try device.sign(.enroll, try device.enrollFields())).status == .ok)
        try await context.store.setState(.accepted, fingerprint: device.fingerprint, at: Date())
    }
}

/// POSTs a signed request the way a client does.
func post(_ client: some TestClientProtocol, _ request: SignedRequest) async throws -> TestResponse {
    try await post(
        client, endpoint: request.endpoint.rawValue, body: request.body,
        signature: request.signatureHeaderValue)
}

/// POSTs any body, with or without a signature header (for malformed requests).
func post(_ client: some TestClientProtocol, endpoint: String, body: Data, signature: String?) async throws -> TestResponse {
    var headers: HTTPFields = [.contentType: "application/json"]
    if let signature { headers[HTTPField.Name(WireProtocol.signatureHeader)!] = signature }
    return try await client.execute(
        uri: "/rookery/v1/" + endpoint, method: .post, headers: headers,
        body: ByteBuffer(bytes: body))
}

/// The response is the refusal `code`: its HTTP status, and a JSON body naming the code with a message.
func expectRefusal(
    _ response: TestResponse, _ code: ProtocolErrorCode,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    #expect(Int(response.status.code) == code.httpStatus, sourceLocation: sourceLocation)
    let body = try JSONDecoder().decode(ProtocolError.self, from: Data(buffer: response.body))
    #expect(body.error == code, sourceLocation: sourceLocation)
    #expect(!body.message.isEmpty, sourceLocation: sourceLocation)
}
