import Foundation
import RookeryCore
import Testing

@testable import RookeryServer

/// The certificate files under server/tls: staged beside their place, committed or discarded.
@Suite struct ServerCertificateFilesTests {
    @Test func aStagedPairIsInvisibleUntilCommitted() throws {
        let files = try AdminFiles(settings: "listen_port: 8080\n")
        let staged = try ServerCertificateFiles(root: files.root).stageSelfSigned(port: 9443, names: ["a.test"], validDays: 10)
        #expect(try files.files(in: "server/tls") == ["port-9443.key.new", "port-9443.pem.new"])
        try staged.commit()
        staged.discard()
        #expect(try files.files(in: "server/tls") == ["port-9443.key", "port-9443.pem"])
        #expect(try files.mode(of: staged.final.key) == 0o640)
        #expect(try files.mode(of: staged.final.certificate) == 0o644)
    }

    @Test func aDiscardedPairLeavesNothing() throws {
        let files = try AdminFiles(settings: "listen_port: 8080\n")
        try ServerCertificateFiles(root: files.root).stageSelfSigned(port: 9443, names: ["a.test"], validDays: 10).discard()
        #expect(try files.files(in: "server/tls").isEmpty)
    }

    @Test func pinnedFingerprintsAreThoseOfTheClientBundle() throws {
        let files = try AdminFiles(settings: "listen_port: 8080\n")
        let pair = try ServerCertificateFiles(root: files.root).stageSelfSigned(port: 9443, names: ["a.test"], validDays: 10)
        try pair.commit()
        var settings = try PortsFile(root: files.root).read()
        #expect(ServerCertificateFiles.pinnedFingerprints(settings, root: files.root).isEmpty)
        settings.clientCAFile = "server/tls/port-9443.pem"
        let served = try CertificateInfo.read(pemFile: pair.final.certificate).map(\.sha256Fingerprint)
        #expect(ServerCertificateFiles.pinnedFingerprints(settings, root: files.root) == Set(served))
    }
}
