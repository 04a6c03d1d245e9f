import Foundation
import RookeryCore
import RookeryServer

/// How `configure-ports show` prints the ports: a table for people, JSON for scripts.
enum PortsFormatter {
    /// One configured port with what its certificate file says (nil: plain HTTP).
    struct Row {
        let port: PortSettings
        let certificate: Result<CertificateInfo, Error>?

        init(_ port: PortSettings, root: InstallRoot) {
            self.port = port
            certificate = port.tls.map { tls in
                Result {
                    guard let first = try CertificateInfo.read(pemFile: root.resolve(tls.certificate)).first else {
                        throw CertificateError("no certificate in \(tls.certificate)")
                    }
                    return first
                }
            }
        }

        var expiry: String {
            switch certificate {
            case nil: "-"
            case .success(let info)?: "\(RFC3339.string(from: info.notValidAfter)) (\(info.daysLeft(now: Date())) days)"
            case .failure(let error)?: "unreadable: \(error)"
            }
        }
    }

    static func text(_ settings: ServerSettings, root: InstallRoot) -> String {
        let rows = settings.listeningPorts.map { Row($0, root: root) }
        let table = TextTable.render(
            [["PORT", "TLS", "DEPRECATED", "CERTIFICATE", "EXPIRES"]]
                + rows.map { row in
                    [
                        String(row.port.number), row.port.tls == nil ? "no" : "yes", row.port.deprecated ? "yes" : "no",
                        row.port.tls?.certificate ?? "-", row.expiry
                    ]
                })
        let url = ReleasePublishing.serverURL(settings) + (settings.clientServerURL.isEmpty ? " (default)" : "")
        let pin = settings.clientCAFile.isEmpty ? "nothing (the system's CA store)" : settings.clientCAFile
        return table + "\nnext client release: url \(url), pins \(pin)\nlistening on \(settings.listenHost)"
    }

    static func json(_ settings: ServerSettings, root: InstallRoot) -> String {
        let ports: [JSONValue] = settings.listeningPorts.map { port in
            let row = Row(port, root: root)
            var object: [String: JSONValue] = [
                "port": .integer(Int64(port.number)), "deprecated": .bool(port.deprecated), "tls": .bool(port.tls != nil),
                "certificate": port.tls.map { .string($0.certificate) } ?? .null,
                "key": port.tls.map { .string($0.key) } ?? .null
            ]
            switch row.certificate {
            case .success(let info)?:
                object["subject"] = .string(info.subject)
                object["names"] = .array(info.names.map(JSONValue.string))
                object["expires_at"] = .string(RFC3339.string(from: info.notValidAfter))
                object["issuer"] = .string(info.issuer)
                object["self_signed"] = .bool(info.isSelfSigned)
                object["sha256"] = .string(info.sha256Fingerprint)
            case .failure(let error)?:
                object["certificate_error"] = .string("\(error)")
            case nil:
                break
            }
            return .object(object)
        }
        return JSONValue.object([
            "listen_host": .string(settings.listenHost),
            "ports": .array(ports),
            "client": .object([
                "url": .string(ReleasePublishing.serverURL(settings)), "url_is_default": .bool(settings.clientServerURL.isEmpty),
                "ca_file": .string(settings.clientCAFile)
            ])
        ]).serializedString
    }
}
