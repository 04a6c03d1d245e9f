import Foundation
import RookeryCore
import RookeryServer
import RookeryTestSupport
import Testing
import Yams

/// The client reads its settings with its own strict reader (`ClientSettingsFile`), not Yams, which
/// needs full Foundation. These tests hold it to the Yams reading the server keeps (`SettingsFile`):
/// every file of the subset reads the same both ways, and every file it refuses is refused by Yams
/// too or is YAML outside the subset (named as such below).
@Suite struct ClientSettingsReaderTests {
    static let token = "enroll-T0ken-8d1f5a77c2b94e0f"

    /// Both readings of `text` over `base`: the settings as sorted JSON, or nil when refused.
    static func readings(_ text: String, over base: ClientSettings = ClientSettings()) -> (strict: String?, yams: String?) {
        let strict = try? ClientSettingsFile.decode(text, source: "c.yml", over: base)
        let yams = try? SettingsFile.decode(ClientSettings.self, text: text, source: "c.yml", userInfo: [ClientSettings.baseKey: base])
        return (strict.map(json), yams.map(json))
    }

    static func json(_ settings: ClientSettings) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try! encoder.encode(settings), as: UTF8.self)
    }

    @Test func generatedFilesOfTheSubsetReadTheSameBothWays() {
        var random = SeededRandom(seed: 15)
        var nonDefault = 0
        for _ in 0..<2000 {
            let base = Self.randomSettings(&random)
            let text = SettingsFileGenerator.file(&random)
            let (strict, yams) = Self.readings(text, over: base)
            #expect(strict != nil, "refused:\n\(text)")
            #expect(strict == yams, "\n\(text)")
            if strict != Self.json(base) { nonDefault += 1 }
        }
        // The files set values, not only comments and nulls.
        #expect(nonDefault > 1900)
    }

    /// What the strict reader refuses, and whether Yams refuses it too (`yams: true`) or reads YAML
    /// outside the flat subset (`yams: false`, said why).
    @Test(arguments: [
        // Refused by both.
        ("allow_commands: \"true\"\n", true),  // a quoted boolean is text to Yams
        ("collect_interval: '300'\n", true),  // likewise a quoted number
        ("collect_interval: 5.5\n", true),
        ("collect_interval: twelve\n", true),
        ("collect_interval: -0\n", true),  // Yams reads -0 as octal, finds no digits
        ("collect_interval: 99999999999999999999\n", true),
        ("allow_commands: maybe\n", true),
        ("hostname: a\nhostname: b\n", true),  // a key given twice
        ("allow_comands: false\n", true),  // an unknown key
        ("hostname: a: b\n", true),
        ("hostname: \"open\n", true),
        ("hostname: 'open\n", true),
        ("hostname: \"a\" b\n", true),
        ("hostname: \"\\q\"\n", true),  // an unknown escape
        ("hostname: \"\\ud800\"\n", true),  // a surrogate
        ("hostname: [a, b]\n", true),  // a list where text belongs
        ("hostname:\n  nested: 1\n", true),
        ("- hostname\n", true),
        ("[hostname]\n", true),
        ("hostname: ok\n\tallow_commands: true\n", true),  // a tab that indents
        ("hostname: *a\n", true),  // an alias of no anchor
        ("hostname: @x\n", true),
        ("hostname: `x\n", true),
        ("hostname: %x\n", true),
        ("hostname: ,x\n", true),
        ("hostname: a\u{01}b\n", true),  // a control character
        ("hostname: a\u{2028}b\n", true),  // a line separator
        ("just words\n", true),
        ("hostname: x\n---\nhostname: y\n", true),  // two documents
        // YAML outside the subset, which Yams reads.
        ("collect_interval: 0x10\n", false),  // hexadecimal
        ("collect_interval: 010\n", false),  // octal (8 to Yams)
        ("collect_interval: 1:30\n", false),  // sexagesimal (90 to Yams)
        ("hostname: !!str laptop\n", false),  // a tag
        ("hostname: &a laptop\n", false),  // an anchor
        ("hostname: |\n  laptop\n", false),  // a block scalar
        ("hostname: lap\n  top\n", false),  // a plain value over two lines
        ("{hostname: laptop}\n", false),  // a flow mapping
        ("  hostname: laptop\n", false),  // an indented mapping
        ("\"hostname\": laptop\n", false),  // a quoted key
        ("hostname: \"lap\ntop\"\n", false),  // a quoted value over two lines
        ("hostname: a\tb\n", false),  // a tab inside a value
        ("hostname: \"x\"# note\n", false)  // a comment without a space
    ])
    func refusalsAreRefusedByYamsOrOutsideTheSubset(text: String, yamsRefuses: Bool) {
        let (strict, yams) = Self.readings(text)
        #expect(strict == nil, "accepted: \(text)")
        if yamsRefuses {
            #expect(yams == nil, "Yams reads it: \(text)")
        } else {
            #expect(yams != nil, "Yams refuses it too (move it up): \(text)")
        }
    }

    /// Messages say file, line, column and what to do, and never hold a value from the file.
    @Test(arguments: [
        ("enrollment_token: \"\(token)\"\nenrollment_token: \"\(token)\"\n", "line 2, column 1: this key is given already on line 1"),
        ("hostname: laptop\nenrollment_token: \(token)\tx\n", "line 2, column 48: a tab"),
        ("hostname: laptop\n  enrollment_token: \(token)\n", "line 2, column 3: an indented line"),
        ("enrollment_token: \"\(token)\n", "line 1, column 19: a quoted value that does not end on its line"),
        ("enrollment_token: \"\(token)\" \(token)\n", "line 1, column 51: something after the quoted value"),
        ("enrollment_token: \(token): x\n", "line 1, column 48: a second ': '"),
        ("enrollment_token: [\(token)]\n", "line 1, column 19: a flow collection"),
        ("\(token)\n", "line 1, column 1: not a setting"),
        ("\(token): x\n", "line 1, column 1: unknown key; the keys here are server_url"),
        ("allow_commands: \"\(token)\"\n", "line 1, column 17: allow_commands: expected true or false"),
        ("queue_max_bytes: 0x\(token.count)\n", "line 1, column 18: queue_max_bytes: expected a whole number"),
        ("hostname: laptop\nallow_comands: false\n", "line 2, column 1: unknown key allow_comands; did you mean allow_commands?")
    ])
    func messagesPlaceTheProblemAndHoldNoValue(text: String, says: String) {
        #expect {
            try ClientSettingsFile.decode(text, source: "/etc/c.yml")
        } throws: { error in
            let message = "\(error)"
            return error is SettingsError && message.hasPrefix("invalid settings in /etc/c.yml at ")
                && message.contains(says) && !message.contains(Self.token) && !message.contains("laptop")
        }
    }

    @Test func aFileThatIsNotUTF8IsRefusedWithoutItsContent() throws {
        let sandbox = try Sandbox()
        let path = sandbox.path + "/settings.yml"
        try (Data("enrollment_token: \"\(Self.token)".utf8) + Data([0xff, 0x22, 0x0a])).write(to: URL(fileURLWithPath: path))
        #expect {
            try ClientSettingsFile.load(from: path)
        } throws: { error in
            "\(error)" == "invalid settings in \(path): not UTF-8 text"
        }
    }

    /// A release's `client/release.yml` writes its values with `ClientSettingsFile.line`; every
    /// one of them reads back as written, whatever characters the URL or token holds, here and in
    /// Yams. (JSON's escaping, used before, leaves U+2028, U+2029 and U+FEFF as they are, which
    /// this reader refuses: such a token cut off every device of the release.)
    @Test func valuesAsReleasesWriteThemReadBackExactly() throws {
        var random = SeededRandom(seed: 6)
        let characters = Array("aZ09 -_:#'\"\\/{}[]&*!|>%@`,é€😀\t\n\r\u{01}\u{1F}\u{7F}\u{85}\u{9F}\u{2028}\u{2029}\u{FEFF}\u{FFFE}")
        for _ in 0..<500 {
            let value = String((0..<(random.next() % 40)).map { _ in characters.randomElement(using: &random)! })
            let text = ClientSettingsFile.line("enrollment_token", value) + "\n"
            #expect(try ClientSettingsFile.decode(text, source: "release.yml").enrollmentToken == value)
            // libyaml drops a U+FEFF at a scalar's start even when it is escaped.
            guard value.unicodeScalars.first != "\u{FEFF}" else { continue }
            #expect(try YAMLDecoder().decode([String: String].self, from: text)["enrollment_token"] == value)
        }
    }

    /// What YAML files often hold and YAML reads as nothing: DOS line ends, blanks at the ends of
    /// lines, tabs in comments, a document start before the settings.
    @Test func yamlsInvisibleExtrasAreRead() throws {
        let text = "---\r\n# a comment\twith a tab\r\n\thostname: ignored\n"
        #expect(throws: SettingsError.self) { try ClientSettingsFile.decode(text, source: "s.yml") }
        let good = "---\r\n# a comment\twith a tab\r\nhostname: laptop \t\r\ncollect_interval: 60 # every minute\r\n"
        let settings = try ClientSettingsFile.decode(good, source: "s.yml")
        #expect(settings.hostname == "laptop" && settings.collectInterval == 60)
        let yams = try YAMLDecoder().decode([String: String].self, from: good)
        #expect(yams["hostname"] == "laptop" && yams["collect_interval"] == "60")
    }

    /// `\x`, `\u` and `\U` take hex digits only; a sign is not one.
    @Test func aSignInAHexEscapeIsRefused() {
        for text in ["hostname: \"\\x+1\"\n", "hostname: \"\\u+041\"\n", "hostname: \"\\U+0000041\"\n"] {
            #expect(throws: SettingsError.self) { try ClientSettingsFile.decode(text, source: "s.yml") }
            #expect(throws: (any Error).self) { try YAMLDecoder().decode([String: String].self, from: text) }
        }
    }

    static func randomSettings(_ random: inout SeededRandom) -> ClientSettings {
        var settings = ClientSettings()
        settings.hostname = random.bool() ? "base-host" : ""
        settings.collectInterval = Int(random.next() % 1000)
        settings.allowCommands = random.bool()
        settings.enrollmentToken = random.bool() ? "base-token" : ""
        return settings
    }
}

/// Random settings files of the flat subset, in every way of writing each value it reads.
enum SettingsFileGenerator {
    enum Kind { case text, number, flag }
    static let keys: [(String, Kind)] = [
        ("server_url", .text), ("hostname", .text), ("collect_interval", .number), ("submit_interval", .number),
        ("plugin_timeout", .number), ("plugin_parallelism", .number), ("request_timeout", .number),
        ("queue_max_items", .number), ("queue_max_bytes", .number), ("queue_max_age_days", .number),
        ("system_root", .text), ("enrollment_token", .text), ("update_interval", .number),
        ("allow_commands", .flag), ("command_timeout", .number), ("command_max_failures", .number),
        ("keep_server_url", .flag)
    ]

    static func file(_ random: inout SeededRandom) -> String {
        var lines: [String] = []
        for (key, kind) in keys.shuffled(using: &random) where random.next() % 4 != 0 {
            if random.next() % 5 == 0 { lines.append(random.pick(["", "# a comment", "   # indented comment", "#"])) }
            let spaceBefore = random.next() % 6 == 0 ? " " : ""
            let spaceAfter = String(repeating: " ", count: 1 + Int(random.next() % 3))
            var value = self.value(kind, &random)
            if value.isEmpty {
                lines.append(key + spaceBefore + ":" + random.pick(["", "  ", " # nothing"]))
                continue
            }
            if random.next() % 4 == 0 { value += random.pick(["  ", " # why", " #"]) }
            lines.append(key + spaceBefore + ":" + spaceAfter + value)
        }
        return lines.joined(separator: "\n") + random.pick(["\n", "", "\n\n"])
    }

    static func value(_ kind: Kind, _ random: inout SeededRandom) -> String {
        if random.next() % 12 == 0 { return random.pick(["", "~", "null", "Null", "NULL"]) }
        switch kind {
        case .flag:
            let word = random.pick(["true", "yes", "on", "false", "no", "off"])
            return random.pick([word, word.uppercased(), word.prefix(1).uppercased() + word.dropFirst()])
        case .number:
            var digits =
                random.next() % 8 == 0 ? "0" : String(1 + random.next() % 9) + (0..<(random.next() % 9)).map { _ in String(random.next() % 10) }.joined()
            if digits.count > 2 && random.next() % 5 == 0 { digits.insert("_", at: digits.index(after: digits.startIndex)) }
            return digits == "0" ? digits : random.pick(["", "", "+", "-"]) + digits
        case .text:
            switch random.next() % 3 {
            case 0: return plain(&random)
            // Tabs only escaped (the subset has no raw tab), so only in double quotes.
            case 1: return "'" + text(&random).replacingOccurrences(of: "\t", with: " ").replacingOccurrences(of: "'", with: "''") + "'"
            default: return "\"" + escaped(text(&random)) + "\""
            }
        }
    }

    /// Plain text: no ': ' or ' #', no indicator first, not a null, boolean or number word.
    static func plain(_ random: inout SeededRandom) -> String {
        let first = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZé/"
        let rest = first + "0123456789-_.:/@#!&*,[]{}'\"= ~%"
        var text = String(first.randomElement(using: &random)!)
        for _ in 0..<(random.next() % 30) { text.append(rest.randomElement(using: &random)!) }
        while text.contains(": ") || text.contains(" #") || text.hasSuffix(":") || text.hasSuffix(" ") {
            text.removeLast()
        }
        return text
    }

    /// Any text, for quoted values.
    static func text(_ random: inout SeededRandom) -> String {
        let characters = "abcXYZ019 -_:#'\"\\/{}[]&*!|>%@`,é€😀\t"
        return String((0..<(random.next() % 30)).map { _ in characters.randomElement(using: &random)! })
    }

    static func escaped(_ text: String) -> String {
        text.unicodeScalars.map { scalar in
            switch scalar {
            case "\"": return "\\\""
            case "\\": return "\\\\"
            case "\t": return "\\t"
            case "é": return "\\u00e9"
            case "😀": return "\\U0001F600"
            case "/": return "\\/"
            default: return String(scalar)
            }
        }.joined()
    }
}
