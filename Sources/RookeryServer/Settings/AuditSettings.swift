import RookeryCore

/// The `audit:` section of server/settings.yml: where checks come from, how grace periods count,
/// and how people are told.
public struct AuditSettings: Codable, Sendable {
    /// The checks, relative to the install root unless absolute.
    public var issuesFile: String = "server/issues.yml"
    /// Where cron mails `bin/issues audit --cron` (server-setup.sh writes it as MAILTO).
    public var mailto: String = ""
    /// Grace periods count only working time when set; wall-clock time otherwise.
    public var businessHours: BusinessHoursSettings?
    /// SMTP for `bin/issues audit --email`.
    public var smtp: SMTPSettings = SMTPSettings()
    /// A URL that receives a JSON POST for every alert (besides any check's own webhook).
    public var webhook: String = ""

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case issuesFile = "issues_file"
        case mailto
        case businessHours = "business_hours"
        case smtp, webhook
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.containerRefusingUnknownKeys(keyedBy: CodingKeys.self)
        let d = AuditSettings()
        issuesFile = try c.decodeIfPresent(String.self, forKey: .issuesFile) ?? d.issuesFile
        mailto = try c.decodeIfPresent(String.self, forKey: .mailto) ?? d.mailto
        businessHours = try c.decodeIfPresent(BusinessHoursSettings.self, forKey: .businessHours)
        smtp = try c.decodeIfPresent(SMTPSettings.self, forKey: .smtp) ?? d.smtp
        webhook = try c.decodeIfPresent(String.self, forKey: .webhook) ?? d.webhook
    }
}

public struct BusinessHoursSettings: Codable, Sendable {
    public var timeZone: String
    public var workingDays: [String] = ["mon", "tue", "wed", "thu", "fri"]
    public var workingHours: String = "09:00-17:00"

    public init(
        timeZone: String, workingDays: [String] = ["mon", "tue", "wed", "thu", "fri"],
        workingHours: String = "09:00-17:00"
    ) {
        self.timeZone = timeZone
        self.workingDays = workingDays
        self.workingHours = workingHours
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case timeZone = "time_zone"
        case workingDays = "working_days"
        case workingHours = "working_hours"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.containerRefusingUnknownKeys(keyedBy: CodingKeys.self)
        timeZone = try c.decodeIfPresent(String.self, forKey: .timeZone) ?? "UTC"
        workingDays = try c.decodeIfPresent([String].self, forKey: .workingDays) ?? workingDays
        workingHours = try c.decodeIfPresent(String.self, forKey: .workingHours) ?? workingHours
    }
}

public struct SMTPSettings: Codable, Sendable {
    /// Empty: no mail server configured, and `--email` says so.
    public var host: String = ""
    /// Unset: 25 without TLS, 587 with starttls, 465 with tls.
    public var port: Int?
    /// none, starttls (required) or tls (implicit TLS, usually port 465).
    public var security: String = "starttls"
    public var username: String = ""
    public var password: String = ""
    /// The sender of owner mails.
    public var from: String = ""
    /// A CA file to verify the mail server with, instead of the system's store.
    public var caFile: String = ""

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case host, port, security, username, password, from
        case caFile = "ca_file"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.containerRefusingUnknownKeys(keyedBy: CodingKeys.self)
        let d = SMTPSettings()
        host = try c.decodeIfPresent(String.self, forKey: .host) ?? d.host
        port = try c.decodeIfPresent(Int.self, forKey: .port)
        security = try c.decodeIfPresent(String.self, forKey: .security) ?? d.security
        username = try c.decodeIfPresent(String.self, forKey: .username) ?? d.username
        password = try c.decodeIfPresent(String.self, forKey: .password) ?? d.password
        from = try c.decodeIfPresent(String.self, forKey: .from) ?? d.from
        caFile = try c.decodeIfPresent(String.self, forKey: .caFile) ?? d.caFile
    }
}
