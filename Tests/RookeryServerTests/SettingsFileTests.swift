import Foundation
import RookeryCore
import RookeryServer
import RookeryTestSupport
import Testing
import Yams

/// Settings files that cannot be used are reported by file, line and column and a reason, never
/// with their content (they hold passwords and tokens); misspelt keys are refused at every level
/// with the nearest known name.
@Suite struct SettingsFileTests {
    static let smtpPassword = SecretSettings.smtpPassword
    static let passwordHash = SecretSettings.passwordHash
    static let token = SecretSettings.token
    static let secrets = SecretSettings.all

    /// A server's settings with one of each secret, `mistake` replacing line `line` (from 1).
    static func serverSettings(_ line: Int? = nil, _ mistake: String = "") -> String {
        SecretSettings.server(lastLine: "    from: rookery@example.org", line, mistake)
    }

    /// The message for `text`, checked to hold no secret and no line of the file (but a line that is
    /// a bare key, `users:`: messages name the setting they refuse).
    static func refusal<T: Decodable>(_ type: T.Type, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        do {
            _ = try SettingsFile.decode(type, text: text, source: "/srv/server/settings.yml")
            Issue.record("accepted:\n\(text)", sourceLocation: sourceLocation)
            return ""
        } catch {
            let message = "\(error)"
            #expect(error is SettingsError, "\(message)", sourceLocation: sourceLocation)
            for secret in secrets {
                #expect(!message.contains(secret), "\(message)", sourceLocation: sourceLocation)
            }
            func isBareKey(_ line: String) -> Bool { line.hasSuffix(":") && line.dropLast().allSatisfy { $0.isLowercase || $0 == "_" } }
            for line in text.split(separator: "\n")
            where !line.trimmingCharacters(in: .whitespaces).isEmpty
                && !isBareKey(line.trimmingCharacters(in: .whitespaces))
            {
                #expect(
                    !message.contains(line.trimmingCharacters(in: .whitespaces)), "\(message) shows \(line)",
                    sourceLocation: sourceLocation)
            }
            return message
        }
    }

    @Test func theFixtureIsGoodSettings() throws {
        let settings = try SettingsFile.decode(ServerSettings.self, text: Self.serverSettings(), source: "s.yml")
        #expect(settings.audit.smtp.password == Self.smtpPassword)
        #expect(settings.users["alice"] == Self.passwordHash)
        #expect(settings.enrollmentTokens == [Self.token])
    }

    /// What Yams itself would print, and why SettingsFile never does: its description of a key
    /// given twice holds the whole file, and of a tab the offending line.
    @Test func yamsOwnDescriptionsQuoteTheFile() {
        let twice = Self.serverSettings(11, "    password: \"other\"")
        #expect(throws: (any Error).self) {
            do { _ = try YAMLDecoder().decode(ServerSettings.self, from: twice) } catch {
                #expect("\(error)".contains(Self.passwordHash) && "\(error)".contains(Self.smtpPassword))
                throw error
            }
        }
        let tab = Self.serverSettings(6, "\talice: \"\(Self.passwordHash)\"")
        #expect(throws: (any Error).self) {
            do { _ = try Yams.compose(yaml: tab) } catch {
                #expect("\(error)".contains(Self.passwordHash))
                throw error
            }
        }
    }

    @Test(arguments: [
        // (line replaced, what, where the message points, what it says)
        (10, "    password: \"\(smtpPassword)\"\n    password: \"x\"", "line 10, column 5", "given again"),
        (6, "\talice: \"\(passwordHash)\"", "line 6, column 1", "a tab"),
        (11, "   from: rookery@example.org", "line 11, column 4", "did not find expected key (while parsing a block mapping that starts at line 8, column 3)"),
        (4, "  - \"\(token)", "line 6, column 11", "(while parsing a block collection that starts at line 4, column 3)"),  // a quote left open
        (4, "  - {\"\(token)\": 1}", "line 4, column 5", "enrollment_tokens (entry 1): expected a single value"),
        (6, "  - \"\(passwordHash)\"", "line 6, column 3", "users: expected a mapping"),
        (2, "listen_port: \(token)", "line 2, column 14", "listen_port: expected a whole number"),
        (9, "    port: mail.example", "line 9, column 11", "audit.smtp.port: expected a whole number"),
        // A free name that is not a plain one may be a secret on the wrong line: not shown.
        (6, "  \"\(smtpPassword) x\": [1]", "line 6, column 27", "users.(a key): expected a single value"),
        (11, "    \(smtpPassword): x", "line 11, column 5", "unknown key; the keys here are host, port"),
        (10, "    password: \"\(smtpPassword)\u{7}\"", "line 10, column 34", "control characters are not allowed")
    ])
    func brokenServerSettingsAreReportedByPlaceAlone(line: Int, mistake: String, place: String, says: String) {
        let message = Self.refusal(ServerSettings.self, Self.serverSettings(line, mistake))
        #expect(message.hasPrefix("invalid settings in /srv/server/settings.yml at \(place): "), "\(message)")
        #expect(message.contains(says), "\(message)")
    }

    /// Checks made once the file is read (password hashes, token strength, ranges) name their
    /// setting; the reader finds its line again.
    @Test func checksAfterReadingAreReportedAtTheirSettingsLine() throws {
        let sandbox = try Sandbox()
        try sandbox.write(Self.serverSettings(), to: "settings.yml")
        let path = sandbox.path + "/settings.yml"
        let user = SettingsFile.placed(SettingsError("users.alice: wrong", setting: ["users", "alice"]), file: path)
        #expect(user.description == "invalid settings in \(path) at line 6, column 3: users.alice: wrong")
        let entry = SettingsFile.placed(SettingsError("weak", setting: ["enrollment_tokens", "0"]), file: path)
        #expect(entry.description == "invalid settings in \(path) at line 4, column 5: weak")
        // A setting the file leaves at its default has no line: the message stays as it was.
        #expect(SettingsFile.placed(SettingsError("database: no", setting: ["database"]), file: path).description == "database: no")
        #expect(SettingsFile.placed(SettingsError("no setting"), file: path).description == "no setting")
    }

    @Test func aFileThatIsNotUTF8IsRefusedWithoutItsContent() throws {
        let sandbox = try Sandbox()
        let path = sandbox.path + "/settings.yml"
        try (Data("audit:\n  smtp:\n    password: \"\(Self.smtpPassword)".utf8) + Data([0xff, 0x22, 0x0a]))
            .write(to: URL(fileURLWithPath: path))
        #expect {
            try SettingsFile.load(ServerSettings.self, from: path)
        } throws: { error in
            "\(error)" == "invalid settings in \(path): not UTF-8 text"
        }
    }

    /// Every settings type refuses a key it does not know and names the one meant.
    @Test(arguments: [
        ("max_pending_device: 10\n", "line 1, column 1", "max_pending_device; did you mean max_pending_devices?"),
        ("audit:\n  issues_fle: x.yml\n", "line 2, column 3", "issues_fle; did you mean issues_file?"),
        ("audit:\n  smtp:\n    pasword: x\n", "line 3, column 5", "pasword; did you mean password?"),
        ("audit:\n  business_hours:\n    time_zon: UTC\n", "line 3, column 5", "time_zon; did you mean time_zone?"),
        ("port:\n  8080:\n    deprecate: true\n", "line 3, column 5", "deprecate; did you mean deprecated?"),
        ("port:\n  8443:\n    tls: {certficate: c.pem, key: k.pem}\n", "line 3, column 11", "certficate; did you mean certificate?"),
        ("endpoint_auth:\n  download_release:\n    ipranges: [10.0.0.0/8]\n", "line 3, column 5", "ipranges; did you mean ip_ranges?")
    ])
    func misspeltServerKeysAreRefusedWithTheNearestName(text: String, place: String, says: String) {
        let message = Self.refusal(ServerSettings.self, text)
        #expect(message.contains("at \(place): unknown key \(says)"), "\(message)")
    }

    @Test func penguinDomesSectionNameSaysWhatToWriteInstead() {
        let message = Self.refusal(ServerSettings.self, "listen_port: 1\nserver_auth:\n  download_release: {}\n")
        #expect(message.contains("at line 2, column 1: server_auth is PenguinDome's name"), "\(message)")
    }

    @Test func theShippedTemplatesAreAllKnownKeys() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        for template in ["server/settings.yml.template", "client/settings.yml.template"] {
            let text = try String(contentsOf: repo.appendingPathComponent(template), encoding: .utf8)
            // The client's template is all comments: uncommented, every example must be a known key.
            let uncommented = text.split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.hasPrefix("#") && $0.dropFirst().first?.isLetter == true ? String($0.dropFirst()) : String($0) }
                .joined(separator: "\n")
            if template.hasPrefix("server") {
                _ = try SettingsFile.decode(ServerSettings.self, text: text, source: template)
            } else {
                #expect(uncommented.contains("\nallow_commands: true"))
                _ = try ClientSettingsFile.decode(uncommented, source: template)
            }
        }
    }

    @Test func aReleaseFileThatCannotBeUsedIsNamed() throws {
        let sandbox = try Sandbox()
        try sandbox.write("server_url: http://h:1\nenrollment_tokn: \"\(Self.token)\"\n", to: "client/release.yml")
        try sandbox.write("hostname: laptop\n", to: "client/settings.yml")
        #expect {
            try ClientSettingsFile.load(InstallRoot(path: sandbox.path))
        } throws: { error in
            let message = "\(error)"
            return message.contains(sandbox.path + "/client/release.yml at line 2, column 1: unknown key enrollment_tokn;")
                && !message.contains(Self.token)
        }
    }

    /// A key is named only when a known name is near it: one far from every name may be a value
    /// on the wrong line.
    @Test func onlyAKeyNearAKnownNameIsNamed() {
        let near = Self.refusal(ServerSettings.self, "Listen_Port: 1\n")
        #expect(near.contains("unknown key Listen_Port; did you mean listen_port?"), "\(near)")
        let far = Self.refusal(ServerSettings.self, "colour: blue\n")
        #expect(far.contains("at line 1, column 1: unknown key; the keys here are listen_host, listen_port, port,"), "\(far)")
        #expect(!far.contains("colour"), "\(far)")
    }
}
