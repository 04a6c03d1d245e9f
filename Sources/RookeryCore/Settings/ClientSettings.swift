/// `client/settings.yml`. Every field is optional in the file; see settings.yml.template.
public struct ClientSettings: Codable, Sendable {
    public var serverURL: String = "http://127.0.0.1:8080"
    /// The name this device reports; empty means the system's hostname.
    public var hostname: String = ""
    public var collectInterval: Int = 300
    public var submitInterval: Int = 60
    public var pluginTimeout: Int = 30
    public var pluginParallelism: Int = 4
    public var requestTimeout: Int = 30
    public var queueMaxItems: Int = 2000
    public var queueMaxBytes: Int = 64 * 1024 * 1024
    public var queueMaxAgeDays: Int = 30
    /// The directory built-in plugins read the system through.
    public var systemRoot: String = "/"
    /// Optional token that lets the server accept this device without an admin.
    public var enrollmentToken: String = ""

    public init() {}

    enum CodingKeys: String, CodingKey {
        case serverURL = "server_url", hostname
        case collectInterval = "collect_interval", submitInterval = "submit_interval"
        case pluginTimeout = "plugin_timeout", pluginParallelism = "plugin_parallelism"
        case requestTimeout = "request_timeout"
        case queueMaxItems = "queue_max_items", queueMaxBytes = "queue_max_bytes"
        case queueMaxAgeDays = "queue_max_age_days"
        case systemRoot = "system_root", enrollmentToken = "enrollment_token"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ClientSettings()
        serverURL = try c.decodeIfPresent(String.self, forKey: .serverURL) ?? d.serverURL
        hostname = try c.decodeIfPresent(String.self, forKey: .hostname) ?? d.hostname
        collectInterval = try c.decodeIfPresent(Int.self, forKey: .collectInterval) ?? d.collectInterval
        submitInterval = try c.decodeIfPresent(Int.self, forKey: .submitInterval) ?? d.submitInterval
        pluginTimeout = try c.decodeIfPresent(Int.self, forKey: .pluginTimeout) ?? d.pluginTimeout
        pluginParallelism = try c.decodeIfPresent(Int.self, forKey: .pluginParallelism) ?? d.pluginParallelism
        requestTimeout = try c.decodeIfPresent(Int.self, forKey: .requestTimeout) ?? d.requestTimeout
        queueMaxItems = try c.decodeIfPresent(Int.self, forKey: .queueMaxItems) ?? d.queueMaxItems
        queueMaxBytes = try c.decodeIfPresent(Int.self, forKey: .queueMaxBytes) ?? d.queueMaxBytes
        queueMaxAgeDays = try c.decodeIfPresent(Int.self, forKey: .queueMaxAgeDays) ?? d.queueMaxAgeDays
        systemRoot = try c.decodeIfPresent(String.self, forKey: .systemRoot) ?? d.systemRoot
        enrollmentToken = try c.decodeIfPresent(String.self, forKey: .enrollmentToken) ?? d.enrollmentToken
    }
}
