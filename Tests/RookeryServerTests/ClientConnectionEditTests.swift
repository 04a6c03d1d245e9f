import Foundation
import RookeryCore
import RookeryServer
import Testing

/// configure-ports client: the URL and the CA bundle the next release carries.
@Suite struct ClientConnectionEditTests {
    @Test func theBundleHoldsThePortsCertificateAndNoKey() throws {
        let files = try AdminFiles(settings: "# note\nlisten_port: 8080\n")
        try PortEditTests.selfSigned(8443).run(root: files.root)
        // A source that also holds a key ships only its certificate.
        let pair =
            try String(contentsOfFile: files.root.resolve("server/tls/port-8443.pem"), encoding: .utf8)
            + String(contentsOfFile: files.root.resolve("server/tls/port-8443.key"), encoding: .utf8)
        try files.sandbox.write(pair, to: "pair.pem")
        let bundle = try ClientConnectionEdit(
            url: "https://rookery.test:8443", caFiles: [files.sandbox.path + "/pair.pem"],
            caFromPorts: [8443], noCA: false
        ).run(root: files.root)
        #expect(bundle?.path == "server/tls/client-ca.pem")
        #expect(bundle?.count == 2)
        let pinned = try String(contentsOfFile: files.root.resolve("server/tls/client-ca.pem"), encoding: .utf8)
        #expect(!pinned.contains("PRIVATE KEY"))
        let settings = try PortsFile(root: files.root).read()
        #expect(settings.clientServerURL == "https://rookery.test:8443")
        #expect(settings.clientCAFile == "server/tls/client-ca.pem")
        #expect(try files.settingsText().hasPrefix("# note\n"))
    }

    @Test func aPlainPortHasNothingToPinAndNothingChanges() throws {
        let files = try AdminFiles(settings: "listen_port: 8080\n")
        let error = #expect(throws: AdminError.self) {
            try ClientConnectionEdit(url: "https://x.test", caFiles: [], caFromPorts: [8080], noCA: false).run(root: files.root)
        }
        #expect(error?.kind == .input && error?.description.contains("plain HTTP") == true)
        #expect(try files.settingsText() == "listen_port: 8080\n")
    }
}
