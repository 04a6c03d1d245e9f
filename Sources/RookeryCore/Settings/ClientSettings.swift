/// `client/settings.yml`. Every field is optional in the file; see settings.yml.template.
public struct ClientSettings: Codable, Sendable {
    public var serverURL: String = "http://127.0.0.1:8080"
    /// Several servers sharing one database, in order of preference (space-separated in the
    /// file); when set, `server_url` is not used. See `serverURLs`.
    public var serverURLList: [String] = []
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
    /// Seconds between asking the server for releases, patches and commands.
    public var updateInterval: Int = 300
    /// The device owner's switch: false refuses every remote command (and wipe).
    public var allowCommands: Bool = true
    /// Seconds a one-time command may run before its process group is killed.
    public var commandTimeout: Int = 300
    /// A command that fails this many times is removed and reported as given up.
    public var commandMaxFailures: Int = 3
    /// The owner's `server_url` wins over the release's: this device stays where its owner
    /// points it, whatever releases say (see `ClientSettingsFile.load`).
    public var keepServerURL: Bool = false
    /// The device owner's switch for remote shells: false refuses every one, and the admin is told why.
    public var allowShells: Bool = true
    /// The account remote shells run as (its login shell, from the system root's /etc/passwd).
    public var shellAccount: String = "root"
    /// A shell with no input or output for this long is closed on the device.
    public var shellIdleSeconds: Int = 1800
    /// Keeps everything each shell printed, in a 0600 file beside the session log.
    public var shellTranscripts: Bool = false
    /// How long a shell rides through a server it cannot reach before it ends.
    public var shellReconnectSeconds: Int = 30
    /// Whether client-cron keeps `rookery-client agent` running, so shells open in seconds.
    public var agent: Bool = true
    /// Plugins (by file name without extension) that are not run; the fleet may set it
    /// (`FleetSettings`), and so may the owner.
    public var disabledPlugins: [String] = []
    /// The device owner's switches for what the server may manage here (issue 20): the firewall
    /// table `inet rookery`, and the authorized_keys of the accounts access.yml grants.
    public var manageFirewall: Bool = true
    public var manageSSHKeys: Bool = true
    /// The nft program the firewall is loaded with.
    public var nftPath: String = "/usr/sbin/nft"

    /// Where requests go, in the order they are tried: `server_urls`, or `server_url` alone.
    public var serverURLs: [String] { serverURLList.isEmpty ? [serverURL] : serverURLList }

    public static let maxServerURLs = 8
    public static let shellIdleRange = 30...86_400
    public static let shellReconnectRange = 1...3600
    /// useradd's bound; the name reaches only a passwd lookup, but the setting is refused early.
    public static let maxShellAccountCount = 32

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case serverURL = "server_url"
        case serverURLList = "server_urls"
        case hostname
        case collectInterval = "collect_interval"
        case submitInterval = "submit_interval"
        case pluginTimeout = "plugin_timeout"
        case pluginParallelism = "plugin_parallelism"
        case requestTimeout = "request_timeout"
        case queueMaxItems = "queue_max_items"
        case queueMaxBytes = "queue_max_bytes"
        case queueMaxAgeDays = "queue_max_age_days"
        case systemRoot = "system_root"
        case enrollmentToken = "enrollment_token"
        case updateInterval = "update_interval"
        case allowCommands = "allow_commands"
        case commandTimeout = "command_timeout"
        case commandMaxFailures = "command_max_failures"
        case keepServerURL = "keep_server_url"
        case allowShells = "allow_shells"
        case shellAccount = "shell_account"
        case shellIdleSeconds = "shell_idle_seconds"
        case shellTranscripts = "shell_transcripts"
        case shellReconnectSeconds = "shell_reconnect_seconds"
        case agent
        case disabledPlugins = "disabled_plugins"
        case manageFirewall = "manage_firewall"
        case manageSSHKeys = "manage_ssh_keys"
        case nftPath = "nft_path"
    }

    /// Settings read before this file (a release's `client/release.yml`), passed in the decoder's
    /// userInfo: what this file leaves out keeps their value.
    public static let baseKey = CodingUserInfoKey(rawValue: "rookery.clientSettings.base")!

    public init(from decoder: Decoder) throws {
        let c = try decoder.containerRefusingUnknownKeys(keyedBy: CodingKeys.self)
        let d = decoder.userInfo[Self.baseKey] as? ClientSettings ?? ClientSettings()
        serverURL = try c.decodeIfPresent(String.self, forKey: .serverURL) ?? d.serverURL
        serverURLList = try Self.urlList(c) ?? d.serverURLList
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
        updateInterval = try c.decodeIfPresent(Int.self, forKey: .updateInterval) ?? d.updateInterval
        allowCommands = try c.decodeIfPresent(Bool.self, forKey: .allowCommands) ?? d.allowCommands
        commandTimeout = try c.decodeIfPresent(Int.self, forKey: .commandTimeout) ?? d.commandTimeout
        commandMaxFailures = try c.decodeIfPresent(Int.self, forKey: .commandMaxFailures) ?? d.commandMaxFailures
        keepServerURL = try c.decodeIfPresent(Bool.self, forKey: .keepServerURL) ?? d.keepServerURL
        allowShells = try c.decodeIfPresent(Bool.self, forKey: .allowShells) ?? d.allowShells
        shellAccount = try Self.accountName(c) ?? d.shellAccount
        shellIdleSeconds = try Self.number(c, .shellIdleSeconds, in: Self.shellIdleRange) ?? d.shellIdleSeconds
        shellTranscripts = try c.decodeIfPresent(Bool.self, forKey: .shellTranscripts) ?? d.shellTranscripts
        shellReconnectSeconds =
            try Self.number(c, .shellReconnectSeconds, in: Self.shellReconnectRange) ?? d.shellReconnectSeconds
        agent = try c.decodeIfPresent(Bool.self, forKey: .agent) ?? d.agent
        disabledPlugins = try Self.pluginNames(c) ?? d.disabledPlugins
        manageFirewall = try c.decodeIfPresent(Bool.self, forKey: .manageFirewall) ?? d.manageFirewall
        manageSSHKeys = try c.decodeIfPresent(Bool.self, forKey: .manageSSHKeys) ?? d.manageSSHKeys
        nftPath = try c.decodeIfPresent(String.self, forKey: .nftPath) ?? d.nftPath
    }

    /// A number the file sets, refused outside `range`: an idle timeout of 0 would close every
    /// shell at once, one of years would keep a forgotten one open.
    private static func number(
        _ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys, in range: ClosedRange<Int>
    ) throws -> Int? {
        guard let value = try c.decodeIfPresent(Int.self, forKey: key) else { return nil }
        guard range.contains(value) else {
            throw SettingRefusal(
                codingPath: c.codingPath + [key],
                reason: "\(key.stringValue) must be \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// An http(s) URL that a space-separated list and a quoted settings line carry as it is.
    public static func isServerURL(_ url: String) -> Bool {
        (url.hasPrefix("http://") || url.hasPrefix("https://")) && url.utf8.count <= 2048
            && url.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }
    }

    /// What a `server_urls` list must be, on the device and in the server's `client_server_urls`:
    /// 1 to `maxServerURLs` different URLs, each one `isServerURL` takes.
    public static func isServerURLList(_ urls: [String]) -> Bool {
        (1...maxServerURLs).contains(urls.count) && urls.allSatisfy(isServerURL) && Set(urls).count == urls.count
    }

    /// `server_urls`: 1 to `maxServerURLs` http(s) URLs, separated by spaces, none twice. The
    /// last-good copy of the settings (JSON, from this type's encoder) holds them as a list, an
    /// empty one when unset.
    /// `disabled_plugins`: names separated by spaces (or a YAML list).
    private static func pluginNames(_ c: KeyedDecodingContainer<CodingKeys>) throws -> [String]? {
        let names: [String]
        if let list = try? c.decodeIfPresent([String].self, forKey: .disabledPlugins) {
            names = list
        } else if let text = try c.decodeIfPresent(String.self, forKey: .disabledPlugins) {
            names = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        } else {
            return nil
        }
        guard let problem = FleetSettings.problem(key: CodingKeys.disabledPlugins.rawValue, value: names.joined(separator: " "))
        else { return names }
        throw SettingRefusal(codingPath: c.codingPath + [CodingKeys.disabledPlugins], reason: problem)
    }

    private static func urlList(_ c: KeyedDecodingContainer<CodingKeys>) throws -> [String]? {
        let urls: [String]
        if let list = try? c.decodeIfPresent([String].self, forKey: .serverURLList) {
            guard !list.isEmpty else { return nil }
            urls = list
        } else if let text = try c.decodeIfPresent(String.self, forKey: .serverURLList) {
            urls = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        } else {
            return nil
        }
        guard isServerURLList(urls) else {
            throw SettingRefusal(
                codingPath: c.codingPath + [CodingKeys.serverURLList],
                reason: "server_urls must be 1 to \(maxServerURLs) different http:// or https:// URLs separated by spaces")
        }
        return urls
    }

    /// An account name as useradd makes them: a misspelt one is refused here, not when a shell is
    /// asked for. (The reason never quotes the value, as for every setting.)
    private static func accountName(_ c: KeyedDecodingContainer<CodingKeys>) throws -> String? {
        guard let name = try c.decodeIfPresent(String.self, forKey: .shellAccount) else { return nil }
        let allowed = { (byte: UInt8) in
            (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte) || (0x41...0x5A).contains(byte)
                || byte == 0x5F || byte == 0x2D || byte == 0x2E
        }
        guard !name.isEmpty, name.utf8.count <= maxShellAccountCount, name.utf8.first != 0x2D,
            name.utf8.allSatisfy(allowed)
        else {
            throw SettingRefusal(
                codingPath: c.codingPath + [CodingKeys.shellAccount],
                reason: "shell_account must be an account name of 1 to \(maxShellAccountCount) letters, digits, _ . or -, not starting with -")
        }
        return name
    }
}
