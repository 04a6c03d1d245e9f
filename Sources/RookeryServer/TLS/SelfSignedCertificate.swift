import Crypto
import Foundation
import SwiftASN1
import X509

/// A self-signed certificate and its private key, for a TLS port that devices pin
/// (`bin/configure_ports set PORT --tls-self-signed HOST`).
public struct SelfSignedCertificate: Sendable {
    /// The certificate as PEM ("-----BEGIN CERTIFICATE-----"), ending in a newline.
    public let certificatePEM: String
    /// Its P-256 private key as PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), ending in a newline.
    public let privateKeyPEM: String

    /// The validity periods accepted, in days.
    public static let validDaysRange = 1...3650
    /// The longest Apple's TLS stack accepts for a server certificate, so the same file also
    /// works from a Mac.
    public static let defaultValidDays = 825

    /// A new key and certificate for `hostnames`: DNS names (a leading `*.` is allowed) or IPv4/IPv6
    /// literals. The first is the subject's common name; all go into subjectAlternativeName.
    public init(hostnames: [String], validDays: Int = defaultValidDays, now: Date = Date()) throws {
        let names = try Self.alternativeNames(hostnames)
        guard Self.validDaysRange.contains(validDays) else {
            let (shortest, longest) = (Self.validDaysRange.lowerBound, Self.validDaysRange.upperBound)
            throw CertificateError("a certificate must be valid for \(shortest) to \(longest) days, not \(validDays)")
        }
        let key = P256.Signing.PrivateKey()
        let certificate = try Self.sign(
            key: Certificate.PrivateKey(key), commonName: hostnames[0], names: names,
            validDays: validDays, now: now)
        // Both libraries leave off the final newline, which some tools want.
        certificatePEM = try certificate.serializeAsPEM().pemString + "\n"
        privateKeyPEM = key.pemRepresentation + "\n"
    }

    /// The certificate proper, signed by its own key.
    private static func sign(
        key: Certificate.PrivateKey, commonName: String, names: [GeneralName],
        validDays: Int, now: Date
    ) throws -> Certificate {
        // Most significant first, so the name reads "CN=host,O=Rookery" (RFC 4514 order is reversed).
        let name = try DistinguishedName {
            OrganizationName("Rookery")
            CommonName(commonName)
        }
        let extensions = try Certificate.Extensions {
            // A CA, so the file itself can be the trust anchor devices are given (libcurl's CAINFO);
            // path length 0 because it never signs another CA.
            Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
            Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectKeyIdentifier(hash: key.publicKey)
            SubjectAlternativeNames(names)
        }
        // An hour's grace before now, for devices whose clocks run a little slow.
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(Double(validDays) * 86_400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: extensions, issuerPrivateKey: key)
    }

    /// One subjectAlternativeName entry per hostname, refusing what no client could match.
    static func alternativeNames(_ hostnames: [String]) throws -> [GeneralName] {
        guard let first = hostnames.first else { throw CertificateError("a certificate needs at least one hostname") }
        // RFC 5280 caps a common name at 64 characters, and strict TLS stacks hold certificates to it.
        guard first.count <= 64 else {
            throw CertificateError(
                """
                "\(first)" is too long to be the common name (64 characters at most); list a shorter name first
                """)
        }
        return try hostnames.map { hostname in
            if let address = AddressRange.bytes(of: hostname) {
                return .ipAddress(ASN1OctetString(contentBytes: address[...]))
            }
            guard isDNSName(hostname) else {
                throw CertificateError(
                    """
                    "\(hostname)" is neither an IP address nor a DNS name (dot-separated labels of 1 to 63 \
                    letters, digits and '-', not starting or ending with '-'; an optional leading "*.")
                    """)
            }
            return .dnsName(hostname)
        }
    }

    /// A hostname a TLS client can match, optionally a wildcard (`*.example.com`).
    static func isDNSName(_ name: String) -> Bool {
        let bare = name.hasPrefix("*.") ? name.dropFirst(2) : Substring(name)
        let labels = bare.split(separator: ".", omittingEmptySubsequences: false)
        guard name.utf8.count <= 253, labels.allSatisfy(isLabel) else { return false }
        // An all-digit last label reads as a mistyped IPv4 address (10.0.0.256), not a name.
        return !labels[labels.count - 1].allSatisfy(\.isNumber)
    }

    private static func isLabel(_ label: Substring) -> Bool {
        guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-" else { return false }
        return label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }
}
