import Foundation
import RookeryCore

/// A certificate file the server's settings name, and what uses it: TLS ports (`port`) and the CA
/// that client releases carry (`client_ca_file`). A file named twice (one certificate on two
/// ports) is one entry, so it is read, reported and alerted once.
struct ConfiguredCertificate: Sendable, Equatable {
    /// As the settings write it: what the administrator recognises in a report.
    var path: String
    /// Absolute: where it is read, and who it is for the alert state.
    var resolvedPath: String
    var ports: [Int] = []
    /// Named by client_ca_file: devices pin it, so renewing it takes a client release too.
    var pinned = false

    /// Every certificate file of `settings`, the ports' in port order, then the client CA.
    static func all(in settings: ServerSettings, root: InstallRoot) -> [ConfiguredCertificate] {
        var files: [ConfiguredCertificate] = []
        func note(_ path: String, _ use: (inout ConfiguredCertificate) -> Void) {
            let resolved = root.resolve(path)
            if let index = files.firstIndex(where: { $0.resolvedPath == resolved }) { return use(&files[index]) }
            var file = ConfiguredCertificate(path: path, resolvedPath: resolved)
            use(&file)
            files.append(file)
        }
        for port in settings.listeningPorts {
            if let tls = port.tls { note(tls.certificate) { $0.ports.append(port.number) } }
        }
        if !settings.clientCAFile.isEmpty { note(settings.clientCAFile) { $0.pinned = true } }
        return files
    }

    /// Who uses the file: `port 8443`, `ports 443, 8443`, `client_ca_file`, `port 8443 and client_ca_file`.
    var uses: String {
        let numbers = ports.map(String.init).joined(separator: ", ")
        let named = ports.isEmpty ? [] : [(ports.count == 1 ? "port " : "ports ") + numbers]
        return (named + (pinned ? ["client_ca_file"] : [])).joined(separator: " and ")
    }

    /// A report line about `certificate` in the file: `port 8443: CN=x in server/tls/port-8443.crt
    /// expires ...`, or for the client CA alone `client_ca_file server/ca.pem: CN=x expires ...`.
    func describe(_ certificate: CertificateInfo, _ what: String) -> String {
        (ports.isEmpty ? "\(uses) \(path): \(certificate.subject)" : "\(uses): \(certificate.subject) in \(path)")
            + " " + what + pinNote
    }

    /// A report line about a file that cannot be read: the reader's message (which names the file),
    /// with the path as the settings write it.
    func describe(unreadable message: String) -> String {
        "\(uses): " + message.replacingOccurrences(of: resolvedPath, with: path) + pinNote
    }

    /// Renewing the client CA takes a client release too.
    private var pinNote: String { pinned ? "; devices pin it" : "" }
}
