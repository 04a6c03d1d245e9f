import Foundation
import RookeryCore
import RookeryServer
import Testing

/// configure-ports add and set: a port's TLS changed with its certificate files, or not at all.
@Suite struct PortEditTests {
    static func selfSigned(_ port: Int, adding: Bool = true, force: Bool = false) -> PortEdit {
        PortEdit(
            port: port, adding: adding, serving: .selfSigned(names: ["rookery.test"], validDays: 30),
            deprecated: nil, force: force)
    }

    @Test func aSelfSignedPortGetsItsFilesAndTheSettingsNameThem() throws {
        let files = try AdminFiles(settings: "listen_port: 8080\n")
        try Self.selfSigned(8443).run(root: files.root)
        let port = try #require(try PortsFile(root: files.root).read().listeningPorts.first { $0.number == 8443 })
        #expect(port.tls == .init(certificate: "server/tls/port-8443.pem", key: "server/tls/port-8443.key"))
        #expect(try files.files(in: "server/tls") == ["port-8443.key", "port-8443.pem"])
        #expect(try files.mode(of: files.root.resolve("server/tls/port-8443.key")) == 0o640)
        let certificate = try CertificateInfo.read(pemFile: files.root.resolve("server/tls/port-8443.pem"))
        #expect(certificate.first?.names.contains("rookery.test") == true)
    }

    @Test func addingAConfiguredPortIsRefusedAndLeavesNoFiles() throws {
        let files = try AdminFiles(settings: "port:\n  8443: {}\n")
        let error = #expect(throws: AdminError.self) { try Self.selfSigned(8443).run(root: files.root) }
        #expect(error?.kind == .conflict && error?.description.contains("already configured") == true)
        #expect(try files.settingsText() == "port:\n  8443: {}\n")
        #expect(try files.files(in: "server/tls").isEmpty)
    }

    @Test func aCertificateThatDoesNotLoadIsRefusedBeforeTheSettingsChange() throws {
        let files = try AdminFiles(settings: "listen_port: 8080\n")
        try files.sandbox.write("not a certificate\n", to: "cert.pem")
        try files.sandbox.write("not a key\n", to: "cert.key")
        let edit = PortEdit(
            port: 8443, adding: true,
            serving: .certificate(.init(certificate: files.sandbox.path + "/cert.pem", key: files.sandbox.path + "/cert.key")),
            deprecated: nil, force: false)
        let error = #expect(throws: AdminError.self) { try edit.run(root: files.root) }
        #expect(error?.kind == .input)
        #expect(try files.settingsText() == "listen_port: 8080\n")
    }

    /// Devices that pin only the certificate a port serves would refuse a new one: refused
    /// without --force, by the pinned-certificate check alone; the old files stay.
    @Test func aPinnedCertificateIsNotReplacedWithoutForce() throws {
        let files = try AdminFiles(settings: "listen_port: 8080\n")
        try Self.selfSigned(8443).run(root: files.root)
        try ClientConnectionEdit(url: nil, caFiles: [], caFromPorts: [8443], noCA: false).run(root: files.root)
        let served = try String(contentsOfFile: files.root.resolve("server/tls/port-8443.pem"), encoding: .utf8)

        let error = #expect(throws: AdminError.self) { try Self.selfSigned(8443, adding: false).run(root: files.root) }
        #expect(error?.kind == .conflict && error?.hint?.contains("--force") == true)
        #expect(try String(contentsOfFile: files.root.resolve("server/tls/port-8443.pem"), encoding: .utf8) == served)
        #expect(try files.files(in: "server/tls") == ["client-ca.pem", "port-8443.key", "port-8443.pem"])

        try Self.selfSigned(8443, adding: false, force: true).run(root: files.root)
        #expect(try String(contentsOfFile: files.root.resolve("server/tls/port-8443.pem"), encoding: .utf8) != served)
    }
}
