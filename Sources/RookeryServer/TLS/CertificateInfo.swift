import Crypto
import Foundation
import RookeryCore
import SwiftASN1
import X509

#if canImport(Glibc)
import Glibc
#endif

/// A certificate or key file is unusable; the message names the file and says why.
/// (This module's own type: it shadows swift-certificates' `X509.CertificateError` here.)
public struct CertificateError: KindedError {
    public let description: String
    /// A file the admin gave; at server start `ServerTLS` makes it a `SettingsError` of its port.
    public var kind: ErrorKind { .input }
    public init(_ description: String) { self.description = description }
}

/// What the server and the audit need to know of a PEM certificate file.
public struct CertificateInfo: Sendable, Equatable {
    /// The subject in RFC 4514 form, e.g. "CN=rookery.example.com,O=Rookery".
    public let subject: String
    /// The issuer, in the same form.
    public let issuer: String
    /// The subjectAlternativeName DNS names and IP addresses, in certificate order.
    public let names: [String]
    /// The start of the validity period.
    public let notValidBefore: Date
    /// The end of the validity period.
    public let notValidAfter: Date
    /// Whether the issuer is the subject.
    public let isSelfSigned: Bool
    /// SHA-256 over the DER bytes, as uppercase hex pairs joined by ":" (as `openssl x509 -fingerprint` shows).
    public let sha256Fingerprint: String

    init(_ certificate: Certificate, der: [UInt8]) throws {
        subject = String(describing: certificate.subject)
        issuer = String(describing: certificate.issuer)
        names = try certificate.extensions.subjectAlternativeNames?.compactMap(Self.text(of:)) ?? []
        notValidBefore = certificate.notValidBefore
        notValidAfter = certificate.notValidAfter
        isSelfSigned = certificate.issuer == certificate.subject
        sha256Fingerprint = Self.hexPairs(Array(SHA256.hash(data: der)))
    }

    /// Every certificate in a PEM file, in file order (a chain file has several).
    public static func read(pemFile path: String) throws -> [CertificateInfo] {
        try parse(pem: readText(path), source: path)
    }

    /// Every certificate in PEM text; `source` names it in errors. Blocks other than
    /// CERTIFICATE (a private key in a combined file) are passed over.
    public static func parse(pem: String, source: String) throws -> [CertificateInfo] {
        try certificates(pem: pem, source: source).enumerated().map { index, parsed in
            do { return try CertificateInfo(parsed.certificate, der: parsed.der) } catch {
                throw CertificateError("\(source): certificate \(index + 1) has a malformed subjectAlternativeName: \(detail(error))")
            }
        }
    }

    /// The certificates of a PEM file as devices may pin them: re-encoded as PEM, and nothing else
    /// from the file (not a private key beside them). Refused if one has expired at `now`: a pin
    /// like that would cut off every device that takes it.
    public static func pinnable(pemFile path: String, now: Date = Date()) throws -> (pem: String, count: Int) {
        let parsed = try certificates(pem: readText(path), source: path)
        if let expired = parsed.first(where: { $0.certificate.notValidAfter < now })?.certificate {
            throw CertificateError("\(path): the certificate \(expired.subject) expired \(expired.notValidAfter); pin a current one")
        }
        return (parsed.map { PEMDocument(type: "CERTIFICATE", derBytes: $0.der).pemString + "\n" }.joined(), parsed.count)
    }

    /// Of a file's certificates, the first to expire: a chain is only as good as that one.
    public static func soonestToExpire(_ certificates: [CertificateInfo]) -> CertificateInfo? {
        certificates.min { $0.notValidAfter < $1.notValidAfter }
    }

    /// Whole days from `now` until notValidAfter, rounded down; negative once expired
    /// (-1 for the first day after it).
    public func daysLeft(now: Date) -> Int {
        Int((notValidAfter.timeIntervalSince(now) / 86_400).rounded(.down))
    }

    /// Checks that the private key in `keyFile` (PKCS#8, SEC1 "EC PRIVATE KEY" or PKCS#1
    /// "RSA PRIVATE KEY"; P-256, P-384, P-521, RSA or Ed25519) belongs to the first certificate in
    /// `certificateFile`.
    public static func checkKeyMatches(certificateFile: String, keyFile: String) throws {
        let leaf = try certificates(pem: readText(certificateFile), source: certificateFile)[0].certificate
        let key = try privateKey(pem: readText(keyFile), source: keyFile)
        guard key.publicKey == leaf.publicKey else {
            throw CertificateError("\(keyFile) does not belong to the certificate in \(certificateFile)")
        }
    }
}

extension CertificateInfo {
    /// The CERTIFICATE blocks with their DER bytes (what the fingerprint covers); at least one.
    static func certificates(pem: String, source: String) throws -> [(certificate: Certificate, der: [UInt8])] {
        let blocks = try documents(pem: pem, source: source).filter { $0.discriminator == "CERTIFICATE" }
        guard !blocks.isEmpty else {
            throw CertificateError("\(source) holds no \"-----BEGIN CERTIFICATE-----\" block (if it is DER, convert it with openssl x509 -inform der)")
        }
        return try blocks.enumerated().map { index, block in
            do { return (try Certificate(derEncoded: block.derBytes), block.derBytes) } catch {
                throw CertificateError("\(source): certificate \(index + 1) does not parse: \(detail(error))")
            }
        }
    }

    /// The first private key block. An encrypted key is refused by name: the server starts unattended.
    static func privateKey(pem: String, source: String) throws -> Certificate.PrivateKey {
        let blocks = try documents(pem: pem, source: source)
        if blocks.contains(where: { $0.discriminator == "ENCRYPTED PRIVATE KEY" }) {
            throw CertificateError("\(source) holds an encrypted private key; the server needs it unencrypted")
        }
        let kinds = ["PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"]
        guard let block = blocks.first(where: { kinds.contains($0.discriminator) }) else {
            throw CertificateError("\(source) holds no \"-----BEGIN PRIVATE KEY-----\" block")
        }
        do { return try Certificate.PrivateKey(pemDocument: block) } catch {
            throw CertificateError("\(source): the \(block.discriminator) does not parse: \(detail(error))")
        }
    }

    private static func documents(pem: String, source: String) throws -> [PEMDocument] {
        // swift-asn1 reports this one with the whole rest of the file in its message.
        guard pem.components(separatedBy: "-----BEGIN ").count == pem.components(separatedBy: "-----END ").count else {
            throw CertificateError("\(source) is not valid PEM: a BEGIN line has no matching END line")
        }
        do { return try PEMDocument.parseMultiple(pemString: pem) } catch { throw CertificateError("\(source) is not valid PEM: \(detail(error))") }
    }

    private static func readText(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "not readable by this user" : "no such file"
            throw CertificateError("cannot read \(path): \(reason)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// swift-asn1 and swift-certificates end their descriptions with their own source location,
    /// and may quote whole documents.
    static func detail(_ error: Error) -> String {
        var text = String(describing: error)
        if let space = text.lastIndex(of: " "), text[space...].contains(".swift:") { text = String(text[..<space]) }
        return text.count <= 200 ? text : text.prefix(200) + "…"
    }

    /// A SAN entry as text: DNS names as they are, addresses as inet_ntop writes them.
    private static func text(of name: GeneralName) -> String? {
        switch name {
        case .dnsName(let dns): return dns
        case .ipAddress(let octets): return addressText(Array(octets.bytes))
        default: return nil
        }
    }

    private static func addressText(_ bytes: [UInt8]) -> String {
        guard bytes.count == 4 || bytes.count == 16 else { return hexPairs(bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let written = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &buffer, socklen_t(buffer.count)) }
        return written == nil ? hexPairs(bytes) : String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func hexPairs(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02X", $0) }.joined(separator: ":")
    }
}
