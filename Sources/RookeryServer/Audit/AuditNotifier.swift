import Foundation
import RookeryCore
import RookeryCurl

/// Tells people what the audit found beyond its printed report: one mail per device owner
/// (user_email) listing their devices' issues and what to do, and a JSON POST per alert (the
/// server's own findings too) to the webhooks. Findings are gathered while the audit runs and
/// sent once it has finished, so a slow mail server never holds the database.
public final class AuditNotifier {
    private let settings: AuditSettings
    private let catalog: CheckCatalog
    private let mailOwners: Bool
    private let postWebhooks: Bool
    private var owners: [String: [(DeviceAudit, [AuditEntry])]] = [:]
    private var hooks: [(url: String, body: JSONValue)] = []

    public init(settings: AuditSettings, catalog: CheckCatalog, mailOwners: Bool, postWebhooks: Bool) {
        self.settings = settings
        self.catalog = catalog
        self.mailOwners = mailOwners
        self.postWebhooks = postWebhooks
    }

    /// Refuses up front what cannot work, before the audit changes anything.
    public func checkReady() throws {
        if mailOwners && (settings.smtp.host.isEmpty || settings.smtp.from.isEmpty) {
            throw SettingsError("--email needs audit.smtp.host and audit.smtp.from in server/settings.yml")
        }
        if mailOwners && SMTPConfiguration.Security(rawValue: settings.smtp.security) == nil {
            throw SettingsError("audit.smtp.security must be none, starttls or tls", setting: ["audit", "smtp", "security"])
        }
        if !settings.webhook.isEmpty && !(settings.webhook.hasPrefix("http://") || settings.webhook.hasPrefix("https://")) {
            throw SettingsError("audit.webhook must be an http:// or https:// URL", setting: ["audit", "webhook"])
        }
    }

    /// Notes one device's reported entries.
    public func collect(_ audit: DeviceAudit, _ entries: [AuditEntry]) {
        guard !entries.isEmpty else { return }
        if mailOwners, let owner = audit.userEmail { owners[owner, default: []].append((audit, entries)) }
        guard postWebhooks else { return }
        for entry in entries where entry.status == .due { hook(entry, webhookBody(audit, entry)) }
    }

    /// Notes the server's own reported findings: webhooks only, as no owner stands behind them.
    public func collectServer(_ entries: [AuditEntry]) {
        guard postWebhooks else { return }
        for entry in entries where entry.status == .due {
            var fields = AuditReport.json(entry).objectValue ?? [:]
            fields["server"] = .bool(true)
            fields["text"] = .string("server: \(entry.detail)")
            hook(entry, .object(fields))
        }
    }

    private func hook(_ entry: AuditEntry, _ body: JSONValue) {
        for url in Set([settings.webhook, catalog.check(named: entry.check)?.webhook ?? ""]) where !url.isEmpty {
            hooks.append((url, body))
        }
    }

    /// Sends everything gathered; returns one line per failure (nothing else is retried).
    public func send(now: Date = Date()) -> [String] {
        var failures: [String] = []
        for (owner, devices) in owners.sorted(by: { $0.key < $1.key }) {
            do {
                try SMTPMailer.send(ownerMail(owner, devices), with: smtpConfiguration(), now: now)
            } catch {
                failures.append("mail to \(owner): \(error)")
            }
        }
        for hook in hooks {
            do {
                let reply = try HTTPTransport.post(
                    url: hook.url, body: hook.body.serialized(), headers: [:],
                    timeoutSeconds: 20, maxResponseBytes: 64 * 1024)
                if !(200..<300).contains(reply.status) {
                    failures.append("webhook \(Self.redacted(hook.url)): HTTP \(reply.status)")
                }
            } catch {
                // The transport's message names the URL; the token in it stays out of logs and mail.
                let reason = "\(error)".replacingOccurrences(of: hook.url, with: Self.redacted(hook.url))
                failures.append("webhook \(Self.redacted(hook.url)): \(reason)")
            }
        }
        return failures
    }

    public var mailCount: Int { owners.count }
    public var webhookCount: Int { hooks.count }

    func ownerMail(_ owner: String, _ devices: [(DeviceAudit, [AuditEntry])]) -> MailMessage {
        let count = devices.reduce(0) { $0 + $1.1.count }
        var body =
            "Rookery found \(count == 1 ? "an issue" : "\(count) issues") on "
            + (devices.count == 1 ? "your device" : "your devices") + ". What it saw and what to do:\n\n"
        for (audit, entries) in devices {
            body += "\(audit.device.hostname)\n"
            for entry in entries.sorted(by: { $0.check < $1.check }) {
                body +=
                    "  - \(entry.description)"
                    + (entry.openedAt.map { " (since \(AuditReport.humanTime($0)))" } ?? "") + "\n"
                if let fix = entry.remediation { body += "    What to do: \(fix)\n" }
            }
            body += "\n"
        }
        body += "This mail is sent by the issues audit of your organisation's Rookery server.\n"
        let subject =
            devices.count == 1
            ? "Rookery: \(count) issue\(count == 1 ? "" : "s") on \(devices[0].0.device.hostname)"
            : "Rookery: \(count) issues on your devices"
        return MailMessage(to: [owner], subject: subject, body: body)
    }

    private func webhookBody(_ audit: DeviceAudit, _ entry: AuditEntry) -> JSONValue {
        var fields = AuditReport.json(entry).objectValue ?? [:]
        fields["hostname"] = .string(audit.device.hostname)
        fields["fingerprint"] = .string(audit.device.fingerprint)
        fields["text"] = .string("\(audit.device.hostname): \(entry.description)")
        return .object(fields)
    }

    private func smtpConfiguration() -> SMTPConfiguration {
        let smtp = settings.smtp
        return SMTPConfiguration(
            host: smtp.host, port: smtp.port,
            security: SMTPConfiguration.Security(rawValue: smtp.security) ?? .starttls,
            username: smtp.username.isEmpty ? nil : smtp.username,
            password: smtp.password.isEmpty ? nil : smtp.password,
            from: smtp.from, caFile: smtp.caFile.isEmpty ? nil : smtp.caFile)
    }

    /// Webhook URLs often carry a token in their path or query; logs get only scheme and host.
    static func redacted(_ url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return "(url)" }
        return "\(components.scheme ?? "http")://\(host)/..."
    }
}
