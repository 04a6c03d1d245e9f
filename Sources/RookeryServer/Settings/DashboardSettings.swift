import RookeryCore

/// `dashboard:` in server/settings.yml: the port the web dashboard, its JSON read API and
/// /metrics are served on, apart from the devices' ports, and that port's certificate.
///
/// ```yaml
/// dashboard:
///   port: 8444
///   tls: {certificate: server/dashboard.crt, key: server/dashboard.key}
/// ```
/// The pages and the API take `endpoint_auth.dashboard`, which must allow someone (the server
/// refuses to start otherwise); /metrics takes `endpoint_auth.metrics` when it is set, so a
/// Prometheus host can be let in by its address alone, and the dashboard's otherwise.
public struct DashboardSettings: Codable, Sendable, Equatable {
    public var port: Int
    public var tls: PortSettings.TLSFiles?

    public init(port: Int, tls: PortSettings.TLSFiles? = nil) {
        self.port = port
        self.tls = tls
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case port, tls }

    public init(from decoder: Decoder) throws {
        let c = try decoder.containerRefusingUnknownKeys(keyedBy: CodingKeys.self)
        port = try c.decode(Int.self, forKey: .port)
        tls = try c.decodeIfPresent(PortSettings.TLSFiles.self, forKey: .tls)
        guard (0...65535).contains(port) else {
            throw SettingRefusal(codingPath: c.codingPath + [CodingKeys.port], reason: "dashboard.port must be 0 to 65535")
        }
    }
}
