import Foundation
import RookeryCore

/// What checks device signatures (`verify_with`).
public enum SignatureChecker: String, Codable, Sendable {
    /// swift-crypto in the server process; GPGME for anything it does not understand.
    case native
    /// GPGME (gpg processes) for every signature.
    case gpgme
}

/// `server/settings.yml`. Every field is optional in the file; see settings.yml.template.
public struct ServerSettings: Codable, Sendable {
    /// Address and port to listen on.
    public var listenHost: String = "127.0.0.1"
    public var listenPort: Int = 8080
    /// Several ports, some deprecated (`port:`); empty: just `listen_port`.
    public var ports: [PortSettings] = []
    /// SQLite file, relative to the install root unless absolute, or a postgresql:// URL.
    public var database: String = "var/server/rookery.sqlite"
    /// For a PostgreSQL database: a file holding its password (relative to the install root
    /// unless absolute; refused when anyone may read it). Empty: ROOKERY_DATABASE_PASSWORD, or none.
    public var databasePasswordFile: String = ""
    /// For a PostgreSQL database: the most connections this process holds open to it.
    public var databaseConnections: Int = 20
    public var maxBodyBytes: Int = WireProtocol.defaultMaxBodyBytes
    /// How far a request's sent_at may be from the server's clock, in seconds.
    public var allowedClockSkew: Int = 300
    /// Tokens that accept an enrolling device without an admin. Empty: every device waits.
    public var enrollmentTokens: [String] = []
    /// Threads that run signature checks (gpg processes) off the event loop.
    public var verifyThreads: Int = 8
    /// Who checks a known device's signatures: the native checks first (GPGME for what they do
    /// not understand), or GPGME alone.
    public var verifyWith: SignatureChecker = .native
    /// New enrollments without a valid token are refused (429) while this many devices wait.
    public var maxPendingDevices: Int = 1000
    /// What client releases carry: the URL devices use (empty: http://listen_host:listen_port)
    /// and an optional enrollment token.
    public var clientServerURL: String = ""
    /// Several servers sharing one database, in the order devices try them (their `server_urls`).
    public var clientServerURLs: [String] = []
    public var clientEnrollmentToken: String = ""
    /// The CA certificate (PEM) client releases carry and devices pin for the server's TLS
    /// certificate; empty: devices trust their system's CA store.
    public var clientCAFile: String = ""
    /// Whether `GET /rookery/v1/download_release` hands the latest release to anyone who asks.
    public var releaseDownload: Bool = false
    /// Where `bin/client_release` publishes releases and the server serves them from: under the
    /// install root, or storage several server hosts mount (each file is checked by its hash).
    public var clientReleasesDirectory: String = "var/client_releases"
    /// The issues audit: checks file, calendar, mail and webhooks.
    public var audit: AuditSettings = AuditSettings()
    /// Server-wide users: name and passlib pbkdf2-sha256 hash (bin/save_password writes them).
    public var users: [String: String] = [:]
    /// Named groups of those users.
    public var groups: [String: [String]] = [:]
    /// Who may use each admin-facing endpoint (see EndpointAuthSettings).
    public var endpointAuth: [String: EndpointAuthSettings] = [:]
    /// Proxies whose X-Forwarded-For is believed when checking an address; nobody else's is.
    public var trustedProxies: [String] = []
    /// What one document may hold (keys, paths, leaves), and how much history a submission
    /// adds and a device keeps.
    public var maxKeyBytes: Int = DocumentLimits().maxKeyBytes
    public var maxDocumentLeaves: Int = DocumentLimits().maxLeaves
    /// At least twice the leaves: a document whose every key changed adds a removal and an
    /// addition per leaf, and must still be stored.
    public var maxHistoryRowsPerSubmission: Int = 40_000
    public var historyRowsPerDevice: Int = 50_000
    /// The user enrollment checks (a stranger's key and signature, read by gpg) run as when the
    /// server runs as root; empty: `nobody` as root, the server's own user otherwise.
    public var untrustedUser: String = ""
    /// Open connections allowed at once, over all ports, and from one address (an IPv6 /64;
    /// trusted proxies count only toward the total). More are closed as soon as they open.
    public var maxConnections: Int = 1024
    public var maxConnectionsPerAddress: Int = 64
    /// Seconds a connection has to deliver a whole request, from when it opened or the previous
    /// response was sent, however steadily its bytes trickle in.
    public var requestTimeout: Int = 30
    /// Seconds a response may wait for a peer that does not read it before it is abandoned.
    public var responseTimeout: Int = 30
    /// Seconds requests in flight get to finish after SIGTERM (the server stops accepting at
    /// once); those still running then are cut off.
    public var shutdownGraceSeconds: Int = 30
    /// Requests from one address that may fail before their signature verifies, per minute;
    /// beyond it the address is answered 429 until its budget refills (UnverifiedRequestBudget).
    public var unverifiedFailuresPerMinute: Int = 60
    /// Enrollments one address may send per minute, each a gpg run (see `AddressBudgets`);
    /// beyond it the address is answered 429 until its budget refills.
    public var enrollmentsPerMinute: Int = 60
    /// Group commit: the most requests' nonces and documents one transaction takes, and how long
    /// (milliseconds) a batch waits to fill while other requests are arriving (0: never waits).
    public var commitBatchMax: Int = 50
    public var commitBatchWaitMs: Int = 2
    /// Remote shells (issue 17): whether admins may open them, how long the agent's poll is held,
    /// and when the sweep closes a session nobody uses or the device never answered.
    public var remoteShells: Bool = false
    public var agentPollSeconds: Int = 55
    public var shellIdleSeconds: Int = 900
    public var shellOpenSeconds: Int = 120
    /// The web dashboard, its read API and /metrics, on a port of their own; nil: not served.
    public var dashboard: DashboardSettings?

    public static let agentPollRange = 5...600
    public static let shellIdleRange = 30...86_400
    public static let shellOpenRange = 10...3600
    public static let shutdownGraceRange = 1...600
    /// PostgreSQL itself allows 100 connections by default, shared by every server process. At
    /// least 4: an audit holds one for its lock while it reads and writes on others.
    public static let databaseConnectionsRange = 4...500

    public init() {}

    /// The limits a submitted document is held to.
    public var documentLimits: DocumentLimits {
        var limits = DocumentLimits()
        limits.maxKeyBytes = maxKeyBytes
        // A path holds at least one key: a longer key setting lengthens paths with it.
        limits.maxPathBytes = max(limits.maxPathBytes, 4 * maxKeyBytes)
        limits.maxLeaves = maxDocumentLeaves
        return limits
    }

    /// Who enrollment checks run as: `untrusted_user`, else `nobody` when root, else nobody else.
    public var untrustedUserForChecks: String? {
        if !untrustedUser.isEmpty { return untrustedUser }
        return geteuid() == 0 ? "nobody" : nil
    }

    /// A whole number above zero, when the key is there.
    private static func positive(_ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys) throws -> Int? {
        guard let value = try c.decodeIfPresent(Int.self, forKey: key) else { return nil }
        guard value > 0 else {
            throw SettingRefusal(codingPath: c.codingPath + [key], reason: "\(key.stringValue) must be above 0")
        }
        return value
    }

    /// What the server listens on: `port`, or else `listen_port` alone.
    public var listeningPorts: [PortSettings] { ports.isEmpty ? [PortSettings(number: listenPort)] : ports }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case listenHost = "listen_host"
        case listenPort = "listen_port"
        case ports = "port"
        case database
        case databasePasswordFile = "database_password_file"
        case databaseConnections = "database_connections"
        case maxBodyBytes = "max_body_bytes"
        case allowedClockSkew = "allowed_clock_skew"
        case enrollmentTokens = "enrollment_tokens"
        case verifyThreads = "verify_threads"
        case verifyWith = "verify_with"
        case maxPendingDevices = "max_pending_devices"
        case clientServerURL = "client_server_url"
        case clientServerURLs = "client_server_urls"
        case clientEnrollmentToken = "client_enrollment_token"
        case clientCAFile = "client_ca_file"
        case releaseDownload = "release_download"
        case clientReleasesDirectory = "client_releases_directory"
        case audit
        case users, groups
        case endpointAuth = "endpoint_auth"
        case trustedProxies = "trusted_proxies"
        case maxKeyBytes = "max_key_bytes"
        case maxDocumentLeaves = "max_document_leaves"
        case maxHistoryRowsPerSubmission = "max_history_rows_per_submission"
        case historyRowsPerDevice = "history_rows_per_device"
        case untrustedUser = "untrusted_user"
        case maxConnections = "max_connections"
        case maxConnectionsPerAddress = "max_connections_per_address"
        case requestTimeout = "request_timeout"
        case responseTimeout = "response_timeout"
        case shutdownGraceSeconds = "shutdown_grace_seconds"
        case unverifiedFailuresPerMinute = "unverified_failures_per_minute"
        case enrollmentsPerMinute = "enrollments_per_minute"
        case commitBatchMax = "commit_batch_max"
        case commitBatchWaitMs = "commit_batch_wait_ms"
        case remoteShells = "remote_shells"
        case dashboard
        case agentPollSeconds = "agent_poll_seconds"
        case shellIdleSeconds = "shell_idle_seconds"
        case shellOpenSeconds = "shell_open_seconds"
    }

    /// A whole number within `range`, when the key is there.
    /// `client_server_urls`: what devices read back as their `server_urls` (1 to 8 different
    /// http(s) URLs without spaces or quotes), refused here rather than by every device.
    private static func serverURLs(_ c: KeyedDecodingContainer<CodingKeys>) throws -> [String]? {
        guard let urls = try c.decodeIfPresent([String].self, forKey: .clientServerURLs) else { return nil }
        guard ClientSettings.isServerURLList(urls) else {
            throw SettingRefusal(
                codingPath: c.codingPath + [CodingKeys.clientServerURLs],
                reason: "client_server_urls must list 1 to \(ClientSettings.maxServerURLs) different http:// or https:// URLs")
        }
        return urls
    }

    private static func within(
        _ range: ClosedRange<Int>, _ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys
    ) throws -> Int? {
        guard let value = try c.decodeIfPresent(Int.self, forKey: key) else { return nil }
        guard range.contains(value) else {
            throw SettingRefusal(
                codingPath: c.codingPath + [key],
                reason: "\(key.stringValue) must be \(range.lowerBound) to \(range.upperBound) (seconds)")
        }
        return value
    }

    public init(from decoder: Decoder) throws {
        let penguinDome = AnyKey(stringValue: "server_auth")!
        if try decoder.container(keyedBy: AnyKey.self).contains(penguinDome) {
            throw SettingRefusal(
                codingPath: decoder.codingPath + [penguinDome],
                reason:
                    "server_auth is PenguinDome's name: write endpoint_auth, with ip_ranges for ipranges (see docs/authentication.md)")
        }
        let c = try decoder.containerRefusingUnknownKeys(keyedBy: CodingKeys.self)
        let d = ServerSettings()
        listenHost = try c.decodeIfPresent(String.self, forKey: .listenHost) ?? d.listenHost
        listenPort = try c.decodeIfPresent(Int.self, forKey: .listenPort) ?? d.listenPort
        if c.contains(.ports) {
            guard !c.contains(.listenPort) else {
                throw SettingRefusal(codingPath: c.codingPath + [CodingKeys.ports], reason: "give port or listen_port, not both")
            }
            ports = try PortSettings.list(from: c.superDecoder(forKey: .ports))
        }
        database = try c.decodeIfPresent(String.self, forKey: .database) ?? d.database
        databasePasswordFile = try c.decodeIfPresent(String.self, forKey: .databasePasswordFile) ?? d.databasePasswordFile
        databaseConnections =
            try Self.within(Self.databaseConnectionsRange, c, .databaseConnections) ?? d.databaseConnections
        maxBodyBytes = try c.decodeIfPresent(Int.self, forKey: .maxBodyBytes) ?? d.maxBodyBytes
        allowedClockSkew = try c.decodeIfPresent(Int.self, forKey: .allowedClockSkew) ?? d.allowedClockSkew
        enrollmentTokens = try c.decodeIfPresent([String].self, forKey: .enrollmentTokens) ?? d.enrollmentTokens
        verifyThreads = try c.decodeIfPresent(Int.self, forKey: .verifyThreads) ?? d.verifyThreads
        if let checker = try c.decodeIfPresent(String.self, forKey: .verifyWith) {
            guard let known = SignatureChecker(rawValue: checker) else {
                throw SettingRefusal(
                    codingPath: c.codingPath + [CodingKeys.verifyWith],
                    reason: "verify_with must be native or gpgme")
            }
            verifyWith = known
        }
        maxPendingDevices = try c.decodeIfPresent(Int.self, forKey: .maxPendingDevices) ?? d.maxPendingDevices
        clientServerURL = try c.decodeIfPresent(String.self, forKey: .clientServerURL) ?? d.clientServerURL
        clientServerURLs = try Self.serverURLs(c) ?? d.clientServerURLs
        clientEnrollmentToken = try c.decodeIfPresent(String.self, forKey: .clientEnrollmentToken) ?? d.clientEnrollmentToken
        clientCAFile = try c.decodeIfPresent(String.self, forKey: .clientCAFile) ?? d.clientCAFile
        releaseDownload = try c.decodeIfPresent(Bool.self, forKey: .releaseDownload) ?? d.releaseDownload
        clientReleasesDirectory =
            try c.decodeIfPresent(String.self, forKey: .clientReleasesDirectory) ?? d.clientReleasesDirectory
        audit = try c.decodeIfPresent(AuditSettings.self, forKey: .audit) ?? d.audit
        users = try c.decodeIfPresent([String: String].self, forKey: .users) ?? [:]
        groups = try c.decodeIfPresent([String: [String]].self, forKey: .groups) ?? [:]
        endpointAuth = try c.decodeIfPresent([String: EndpointAuthSettings].self, forKey: .endpointAuth) ?? [:]
        trustedProxies = try c.decodeIfPresent([String].self, forKey: .trustedProxies) ?? []
        maxKeyBytes = try Self.positive(c, .maxKeyBytes) ?? d.maxKeyBytes
        maxDocumentLeaves = try Self.positive(c, .maxDocumentLeaves) ?? d.maxDocumentLeaves
        maxHistoryRowsPerSubmission = try Self.positive(c, .maxHistoryRowsPerSubmission) ?? d.maxHistoryRowsPerSubmission
        historyRowsPerDevice = try Self.positive(c, .historyRowsPerDevice) ?? d.historyRowsPerDevice
        untrustedUser = try c.decodeIfPresent(String.self, forKey: .untrustedUser) ?? d.untrustedUser
        maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections) ?? d.maxConnections
        maxConnectionsPerAddress =
            try c.decodeIfPresent(Int.self, forKey: .maxConnectionsPerAddress)
            ?? d.maxConnectionsPerAddress
        requestTimeout = try c.decodeIfPresent(Int.self, forKey: .requestTimeout) ?? d.requestTimeout
        responseTimeout = try c.decodeIfPresent(Int.self, forKey: .responseTimeout) ?? d.responseTimeout
        unverifiedFailuresPerMinute = try Self.positive(c, .unverifiedFailuresPerMinute) ?? d.unverifiedFailuresPerMinute
        enrollmentsPerMinute = try Self.positive(c, .enrollmentsPerMinute) ?? d.enrollmentsPerMinute
        commitBatchMax = try Self.positive(c, .commitBatchMax) ?? d.commitBatchMax
        commitBatchWaitMs = try c.decodeIfPresent(Int.self, forKey: .commitBatchWaitMs) ?? d.commitBatchWaitMs
        remoteShells = try c.decodeIfPresent(Bool.self, forKey: .remoteShells) ?? d.remoteShells
        dashboard = try c.decodeIfPresent(DashboardSettings.self, forKey: .dashboard)
        agentPollSeconds = try Self.within(Self.agentPollRange, c, .agentPollSeconds) ?? d.agentPollSeconds
        shellIdleSeconds = try Self.within(Self.shellIdleRange, c, .shellIdleSeconds) ?? d.shellIdleSeconds
        shellOpenSeconds = try Self.within(Self.shellOpenRange, c, .shellOpenSeconds) ?? d.shellOpenSeconds
        shutdownGraceSeconds =
            try Self.within(Self.shutdownGraceRange, c, .shutdownGraceSeconds) ?? d.shutdownGraceSeconds
        guard (0...1000).contains(commitBatchWaitMs) else {
            throw SettingRefusal(
                codingPath: c.codingPath + [CodingKeys.commitBatchWaitMs],
                reason:
                    "commit_batch_wait_ms must be 0 to 1000 (milliseconds; every request under load may wait this long)")
        }
        guard maxHistoryRowsPerSubmission >= 2 * maxDocumentLeaves else {
            throw SettingRefusal(
                codingPath: c.codingPath + [CodingKeys.maxHistoryRowsPerSubmission],
                reason:
                    "max_history_rows_per_submission must be at least twice max_document_leaves (\(2 * maxDocumentLeaves)), or a device whose keys all change could never report again"
            )
        }
    }
}
