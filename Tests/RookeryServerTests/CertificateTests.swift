import Foundation
import Testing

@testable import RookeryServer

/// Self-signed certificates for pinned TLS ports, and reading certificate and key files back.
@Suite struct CertificateTests {
    static let hostnames = ["rookery.example.com", "192.0.2.7", "2001:db8::1", "*.fleet.example.com"]
    /// Whole seconds, because a certificate's times carry no fractions.
    static let fixedNow = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z

    @Test func aGeneratedCertificateReadsBack() throws {
        let now = Date()
        let made = try SelfSignedCertificate(hostnames: Self.hostnames, validDays: 90, now: now)
        #expect(made.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----\n"))
        #expect(made.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let infos = try CertificateInfo.parse(pem: made.certificatePEM, source: "generated")
        let info = try #require(infos.count == 1 ? infos.first : nil)
        #expect(info.subject == "CN=rookery.example.com,O=Rookery")
        #expect(info.issuer == info.subject)
        #expect(info.isSelfSigned)
        #expect(info.names == Self.hostnames)
        #expect(abs(info.notValidBefore.timeIntervalSince(now.addingTimeInterval(-3600))) < 1)
        #expect(abs(info.notValidAfter.timeIntervalSince(now.addingTimeInterval(90 * 86_400))) < 1)
        let pairs = info.sha256Fingerprint.split(separator: ":", omittingEmptySubsequences: false)
        #expect(pairs.count == 32)
        #expect(pairs.allSatisfy { $0.count == 2 && $0.allSatisfy { "0123456789ABCDEF".contains($0) } })
    }

    @Test func everyCertificateHasItsOwnKey() throws {
        let first = try SelfSignedCertificate(hostnames: ["a.example"])
        let second = try SelfSignedCertificate(hostnames: ["a.example"])
        #expect(first.privateKeyPEM != second.privateKeyPEM)
        #expect(try fingerprint(first) != fingerprint(second))
    }

    @Test func daysLeftCountsWholeDaysDown() throws {
        let info = try CertificateInfo.parse(
            pem: SelfSignedCertificate(hostnames: ["a.example"], validDays: 30, now: Self.fixedNow).certificatePEM,
            source: "generated")[0]
        #expect(info.notValidBefore == Self.fixedNow.addingTimeInterval(-3600))
        #expect(info.notValidAfter == Self.fixedNow.addingTimeInterval(30 * 86_400))
        #expect(info.daysLeft(now: Self.fixedNow) == 30)
        #expect(info.daysLeft(now: Self.fixedNow.addingTimeInterval(1)) == 29)
        #expect(info.daysLeft(now: info.notValidAfter.addingTimeInterval(-1)) == 0)
        #expect(info.daysLeft(now: info.notValidAfter) == 0)
        #expect(info.daysLeft(now: info.notValidAfter.addingTimeInterval(1)) == -1)
        #expect(info.daysLeft(now: info.notValidAfter.addingTimeInterval(86_401)) == -2)
    }

    @Test(arguments: [
        "", "bad host", "a..b", "-x.com", "x-.com", "a.b.", ".a.b", "*", "*.", "a.*.com", "**.a.com",
        "under_score.com", "bücher.example", "10.0.0.256", "1234", "fe80::1%eth0", "2001:db8::1::2",
        String(repeating: "a", count: 64) + ".com",
        Self.name(labelLengths: [63, 63, 63, 62])  // 254 characters
    ])
    func badHostnamesAreRefused(_ hostname: String) {
        let error = #expect(throws: CertificateError.self) {
            try SelfSignedCertificate(hostnames: ["good.example", hostname])
        }
        #expect(error?.description.contains("\"\(hostname)\"") == true, "\(error?.description ?? "")")
    }

    @Test(arguments: [
        "localhost", "*.example.com", "a-b.c9", "xn--bcher-kva.example", "::1", "10.0.0.255", "::ffff:192.0.2.7",
        String(repeating: "a", count: 63) + ".com",
        Self.name(labelLengths: [63, 63, 63, 61])  // 253 characters
    ])
    func goodHostnamesAreTaken(_ hostname: String) throws {
        _ = try SelfSignedCertificate(hostnames: ["first.example", hostname])
    }

    @Test func theFirstHostnameMustFitTheCommonName() throws {
        let long = Self.name(labelLengths: [32, 31])  // 64 characters, the most a common name may have
        #expect(throws: Never.self) { try SelfSignedCertificate(hostnames: [long]) }
        let error = #expect(throws: CertificateError.self) { try SelfSignedCertificate(hostnames: [long + "a"]) }
        #expect(error?.description.contains("too long to be the common name") == true)
        #expect(throws: Never.self) { try SelfSignedCertificate(hostnames: ["short.example", long + "a"]) }
    }

    @Test func noHostnamesOrABadPeriodIsRefused() {
        #expect(throws: CertificateError.self) { try SelfSignedCertificate(hostnames: []) }
        for days in [0, -1, 3651] {
            let error = #expect(throws: CertificateError.self) {
                try SelfSignedCertificate(hostnames: ["a.example"], validDays: days)
            }
            #expect(error?.description.contains("not \(days)") == true)
        }
        #expect(throws: Never.self) { try SelfSignedCertificate(hostnames: ["a.example"], validDays: 1) }
        #expect(throws: Never.self) { try SelfSignedCertificate(hostnames: ["a.example"], validDays: 3650) }
    }

    @Test func aChainFileGivesEveryCertificateInOrder() throws {
        let leaf = try SelfSignedCertificate(hostnames: ["leaf.example"])
        let root = try SelfSignedCertificate(hostnames: ["root.example"])
        // A key block in between, as in a combined file, is passed over.
        let pem = leaf.certificatePEM + leaf.privateKeyPEM + root.certificatePEM
        try inScratchDirectory { directory in
            let path = directory + "/chain.pem"
            try pem.write(toFile: path, atomically: true, encoding: .utf8)
            let infos = try CertificateInfo.read(pemFile: path)
            #expect(infos.map(\.subject) == ["CN=leaf.example,O=Rookery", "CN=root.example,O=Rookery"])
            #expect(try CertificateInfo.parse(pem: pem, source: path) == infos)
        }
    }

    @Test func unreadableTextIsRefusedNamingItsSource() throws {
        let made = try SelfSignedCertificate(hostnames: ["a.example"])
        let cases: [(pem: String, says: String)] = [
            ("", "no \"-----BEGIN CERTIFICATE-----\" block"),
            ("just some text\n", "no \"-----BEGIN CERTIFICATE-----\" block"),
            (made.privateKeyPEM, "no \"-----BEGIN CERTIFICATE-----\" block"),
            ("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "is not valid PEM"),
            (
                made.certificatePEM.replacingOccurrences(of: "-----END CERTIFICATE-----", with: ""),
                "is not valid PEM: a BEGIN line has no matching END line"
            ),
            (made.certificatePEM.replacingOccurrences(of: "\n", with: "\n\n"), "is not valid PEM"),
            (made.privateKeyPEM.replacingOccurrences(of: "PRIVATE KEY", with: "CERTIFICATE"), "certificate 1 does not parse"),
            (
                made.certificatePEM + made.privateKeyPEM.replacingOccurrences(of: "PRIVATE KEY", with: "CERTIFICATE"),
                "certificate 2 does not parse"
            )
        ]
        for (pem, says) in cases {
            let error = #expect(throws: CertificateError.self) {
                try CertificateInfo.parse(pem: pem, source: "/srv/tls/odd.pem")
            }
            let description = error?.description ?? ""
            #expect(description.contains("/srv/tls/odd.pem") && description.contains(says), "\(description)")
            #expect(!description.contains(".swift:") && description.count < 300, "short, without library source locations: \(description)")
        }
    }

    @Test func aMissingFileIsNamed() throws {
        try inScratchDirectory { directory in
            let error = #expect(throws: CertificateError.self) {
                try CertificateInfo.read(pemFile: directory + "/missing.pem")
            }
            #expect(error?.description == "cannot read \(directory)/missing.pem: no such file")
        }
    }

    @Test func aKeyMustBelongToTheCertificate() throws {
        let mine = try SelfSignedCertificate(hostnames: ["a.example"])
        let other = try SelfSignedCertificate(hostnames: ["a.example"])
        try inScratchDirectory { directory in
            let (cert, key, otherKey) = (directory + "/cert.pem", directory + "/key.pem", directory + "/other.pem")
            try mine.certificatePEM.write(toFile: cert, atomically: true, encoding: .utf8)
            try mine.privateKeyPEM.write(toFile: key, atomically: true, encoding: .utf8)
            try other.privateKeyPEM.write(toFile: otherKey, atomically: true, encoding: .utf8)
            try CertificateInfo.checkKeyMatches(certificateFile: cert, keyFile: key)

            let wrongKey = #expect(throws: CertificateError.self) {
                try CertificateInfo.checkKeyMatches(certificateFile: cert, keyFile: otherKey)
            }
            #expect(wrongKey?.description == "\(otherKey) does not belong to the certificate in \(cert)")
            let keyAsCertificate = #expect(throws: CertificateError.self) {
                try CertificateInfo.checkKeyMatches(certificateFile: key, keyFile: key)
            }
            #expect(keyAsCertificate?.description.hasPrefix("\(key) holds no") == true)
            let certificateAsKey = #expect(throws: CertificateError.self) {
                try CertificateInfo.checkKeyMatches(certificateFile: cert, keyFile: cert)
            }
            #expect(certificateAsKey?.description == "\(cert) holds no \"-----BEGIN PRIVATE KEY-----\" block")
            let missingKey = #expect(throws: CertificateError.self) {
                try CertificateInfo.checkKeyMatches(certificateFile: cert, keyFile: directory + "/gone.pem")
            }
            #expect(missingKey?.description == "cannot read \(directory)/gone.pem: no such file")
        }
    }

    // MARK: - Against OpenSSL, what libcurl on the devices and admins' tools actually use.

    @Test func openSSLAcceptsTheGeneratedPair() throws {
        guard let openssl = Self.openssl() else { return }
        let made = try SelfSignedCertificate(hostnames: Self.hostnames)
        try inScratchDirectory { directory in
            let (cert, key) = (directory + "/cert.pem", directory + "/key.pem")
            try made.certificatePEM.write(toFile: cert, atomically: true, encoding: .utf8)
            try made.privateKeyPEM.write(toFile: key, atomically: true, encoding: .utf8)

            let verify = try run(openssl, ["verify", "-CAfile", cert, cert])
            #expect(verify.status == 0 && verify.output == "\(cert): OK\n", "\(verify.output)")
            let san = try run(openssl, ["x509", "-in", cert, "-noout", "-ext", "subjectAltName"])
            #expect(san.status == 0)
            for expected in [
                "DNS:rookery.example.com", "IP Address:192.0.2.7", "IP Address:2001:DB8:0:0:0:0:0:1",
                "DNS:*.fleet.example.com"
            ] {
                #expect(san.output.contains(expected), "\(expected) in \(san.output)")
            }
            let text = try run(openssl, ["x509", "-in", cert, "-noout", "-text"]).output
            for expected in [
                "CA:TRUE, pathlen:0", "Digital Signature, Certificate Sign", "TLS Web Server Authentication",
                "X509v3 Subject Key Identifier", "ecdsa-with-SHA256", "ASN1 OID: prime256v1",
                "Subject: O = Rookery, CN = rookery.example.com"
            ] {
                #expect(text.contains(expected), "\(expected) in openssl x509 -text")
            }
            // The key is the certificate's, by OpenSSL's reckoning too, and the fingerprints agree.
            let certificateKey = try run(openssl, ["x509", "-in", cert, "-noout", "-pubkey"])
            let privateKeysKey = try run(openssl, ["pkey", "-in", key, "-pubout"])
            #expect(privateKeysKey.status == 0 && privateKeysKey.output == certificateKey.output)
            let fingerprint = try run(openssl, ["x509", "-in", cert, "-noout", "-fingerprint", "-sha256"]).output
            let ours = try CertificateInfo.read(pemFile: cert)[0].sha256Fingerprint
            #expect(fingerprint == "sha256 Fingerprint=\(ours)\n", "\(fingerprint)")
        }
    }

    /// Admins bring their own files: RSA in PKCS#8 and PKCS#1, and P-384 in SEC1 as
    /// `openssl ecparam -genkey` writes it (an EC PARAMETERS block first).
    @Test func keysMadeByOpenSSLAreMatched() throws {
        guard let openssl = Self.openssl() else { return }
        try inScratchDirectory { directory in
            let at = { (name: String) in directory + "/" + name }
            try runOK(
                openssl,
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-noenc", "-subj", "/CN=rsa.example", "-days", "2",
                    "-keyout", at("rsa-pkcs8.pem"), "-out", at("rsa.crt")
                ])
            try runOK(openssl, ["rsa", "-in", at("rsa-pkcs8.pem"), "-traditional", "-out", at("rsa-pkcs1.pem")])
            try runOK(openssl, ["ecparam", "-name", "secp384r1", "-genkey", "-out", at("p384-sec1.pem")])
            try runOK(
                openssl,
                [
                    "req", "-x509", "-new", "-key", at("p384-sec1.pem"), "-subj", "/CN=ec.example",
                    "-days", "2", "-out", at("p384.crt")
                ])
            try runOK(
                openssl,
                [
                    "pkcs8", "-topk8", "-in", at("p384-sec1.pem"), "-passout", "pass:secret",
                    "-out", at("p384-encrypted.pem")
                ])
            #expect(try String(contentsOfFile: at("rsa-pkcs1.pem"), encoding: .utf8).hasPrefix("-----BEGIN RSA PRIVATE KEY-----"))
            #expect(try String(contentsOfFile: at("p384-sec1.pem"), encoding: .utf8).hasPrefix("-----BEGIN EC PARAMETERS-----"))

            try CertificateInfo.checkKeyMatches(certificateFile: at("rsa.crt"), keyFile: at("rsa-pkcs8.pem"))
            try CertificateInfo.checkKeyMatches(certificateFile: at("rsa.crt"), keyFile: at("rsa-pkcs1.pem"))
            try CertificateInfo.checkKeyMatches(certificateFile: at("p384.crt"), keyFile: at("p384-sec1.pem"))
            #expect(throws: CertificateError.self) {
                try CertificateInfo.checkKeyMatches(certificateFile: at("p384.crt"), keyFile: at("rsa-pkcs8.pem"))
            }
            let encrypted = #expect(throws: CertificateError.self) {
                try CertificateInfo.checkKeyMatches(certificateFile: at("p384.crt"), keyFile: at("p384-encrypted.pem"))
            }
            #expect(encrypted?.description.contains("encrypted") == true)
        }
    }

    // MARK: - Helpers

    /// A DNS name of labels of the given lengths, to probe the 63 and 253 character limits.
    static func name(labelLengths: [Int]) -> String {
        labelLengths.map { String(repeating: "a", count: $0) }.joined(separator: ".")
    }

    private func fingerprint(_ made: SelfSignedCertificate) throws -> String {
        try CertificateInfo.parse(pem: made.certificatePEM, source: "generated")[0].sha256Fingerprint
    }

    /// OpenSSL's path, or nil with a recorded issue: a missing tool must not pass for a passing test.
    private static func openssl() -> String? {
        let path = "/usr/bin/openssl"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            Issue.record("\(path) is not installed, so the certificate was not checked against OpenSSL")
            return nil
        }
        return path
    }

    /// Runs a tool to the end; standard output and error together.
    private func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()  // before waiting, so a full pipe cannot stall it
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    private func runOK(_ tool: String, _ arguments: [String]) throws {
        let result = try run(tool, arguments)
        try #require(result.status == 0, "\(tool) \(arguments.joined(separator: " ")): \(result.output)")
    }

    /// Runs `body` in a new directory under /tmp, removed afterwards whatever happens.
    private func inScratchDirectory(_ body: (String) throws -> Void) throws {
        var template = Array("/tmp/rookery-cert-XXXXXX".utf8CString)
        let made = try #require(mkdtemp(&template), "cannot make a directory in /tmp")
        let directory = String(cString: made)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }
}
