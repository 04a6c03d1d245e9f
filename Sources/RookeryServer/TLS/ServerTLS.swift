import Foundation
import NIOSSL
import RookeryCore

/// The TLS side of a port with `tls:` in its settings: its certificate chain and key, loaded and
/// checked when the server starts, so a wrong file stops the server with a message rather than
/// failing every handshake later.
public enum ServerTLS {
    /// The server configuration for `files` (paths relative to the install root unless absolute).
    /// TLS 1.2 is the oldest version offered; clients are libcurl and curl, which have long spoken it.
    public static func configuration(port: Int, files: PortSettings.TLSFiles, root: InstallRoot) throws -> TLSConfiguration {
        let certificatePath = root.resolve(files.certificate)
        let keyPath = root.resolve(files.key)
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do { chain = try NIOSSLCertificate.fromPEMFile(certificatePath) } catch {
            throw SettingsError("port \(port): cannot load the certificate \(certificatePath): \(readable(error, path: certificatePath))")
        }
        guard !chain.isEmpty else { throw SettingsError("port \(port): \(certificatePath) holds no certificate") }
        do { key = try NIOSSLPrivateKey(file: keyPath, format: .pem) } catch {
            throw SettingsError("port \(port): cannot load the private key \(keyPath): \(readable(error, path: keyPath))")
        }
        do { try CertificateInfo.checkKeyMatches(certificateFile: certificatePath, keyFile: keyPath) } catch let error as CertificateError {
            throw SettingsError("port \(port): \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        do { _ = try NIOSSLContext(configuration: configuration) } catch {
            throw SettingsError("port \(port): BoringSSL cannot use \(keyPath) with \(certificatePath) (\(error))")
        }
        return configuration
    }

    /// BoringSSL's errors name no file and rarely the cause; say the common ones plainly.
    private static func readable(_ error: Error, path: String) -> String {
        if !FileManager.default.fileExists(atPath: path) { return "no such file" }
        if !FileManager.default.isReadableFile(atPath: path) { return "not readable by this user" }
        return "not a PEM file of the right kind (\(error))"
    }
}
