import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@Suite struct DocumentTests {
    @Test func jsonRoundTripKeepsIntegersAndOrder() throws {
        let text = #"{"b":[1,2.5,"x",null,true],"a":{"n":9007199254740993}}"#
        let value = try JSONValue.parse(Data(text.utf8))
        #expect(value["a"]?["n"] == .integer(9_007_199_254_740_993))
        #expect(value.serializedString == #"{"a":{"n":9007199254740993},"b":[1,2.5,"x",null,true]}"#)
    }

    @Test func diffReportsChangedAddedAndRemovedLeaves() throws {
        let old = try JSONValue.parse(Data(#"{"plugins":{"sshd":{"password":"yes","root":"no"},"gone":1}}"#.utf8))
        let new = try JSONValue.parse(Data(#"{"plugins":{"sshd":{"password":"no","root":"no"},"added":[1,2]}}"#.utf8))
        let changes = DocumentDiff.changes(from: old, to: new)
        #expect(
            changes == [
                DocumentChange(path: "plugins.added", old: nil, new: .array([.integer(1), .integer(2)])),
                DocumentChange(path: "plugins.gone", old: .integer(1), new: nil),
                DocumentChange(path: "plugins.sshd.password", old: .string("yes"), new: .string("no"))
            ])
    }

    @Test func dottedKeysAndControlCharactersGetTheirOwnPaths() {
        let nested = JSONValue.object(["a": .object(["b": .integer(1)])])
        let dotted = JSONValue.object(["a.b": .integer(2), "esc\u{1b}[2J": .integer(3), "back\\slash": .integer(4)])
        #expect(DocumentDiff.flatten(nested).keys.sorted() == ["a.b"])
        #expect(DocumentDiff.flatten(dotted).keys.sorted() == [#"a\.b"#, #"back\\slash"#, #"esc\u{1b}[2J"#])
        // Control characters in values are escaped too, C1 ones included.
        #expect(JSONValue.string("\u{1b}]0;x\u{07}\u{9b}").serializedString == #""\u001b]0;x\u0007\u009b""#)
    }

    /// The writer escapes byte by byte; every control character (C0, DEL, C1) in any mix with
    /// other text, multi-byte text beside C1 controls included, is escaped and reads back whole.
    @Test func randomTextIsEscapedAndReadsBack() throws {
        let alphabet: [Unicode.Scalar] = [
            "a", "\"", "\\", "/", "\n", "\u{0}", "\u{1f}", "\u{7f}", "\u{80}", "\u{85}",
            "\u{9f}", "\u{a0}", "\u{c2}", "é", "\u{2028}", "😀"
        ]
        var random = SeededRandom(seed: 7)
        for _ in 0..<2000 {
            var text = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...12, using: &random) { text.append(alphabet.randomElement(using: &random)!) }
            let written = Array(JSONValue.string(String(text)).serializedString.utf8)
            let raw = zip(written, written.dropFirst() + [0]).contains { byte, next in
                byte < 0x20 || byte == 0x7F || (byte == 0xC2 && (0x80...0x9F).contains(next))
            }
            #expect(!raw, "a control character left unescaped in \(written)")
            #expect(try JSONValue.parse(Data(written)) == .string(String(text)))
        }
    }

    @Test func diffAgainstNothingListsEveryLeaf() {
        let new = JSONValue.object(["plugins": .object(["a": .string("unknown"), "b": .object([:])])])
        #expect(DocumentDiff.changes(from: nil, to: new).map(\.path) == ["plugins.a", "plugins.b"])
    }
}

@Suite struct InputValidationTests {
    @Test func fingerprints() {
        #expect(InputValidation.fingerprint(String(repeating: "a", count: 40)) == String(repeating: "A", count: 40))
        #expect(InputValidation.fingerprint(String(repeating: "g", count: 40)) == nil)
        #expect(InputValidation.fingerprint("ABCD") == nil)
        // Fullwidth digits are hex digits to Unicode, not to OpenPGP.
        #expect(InputValidation.fingerprint(String(repeating: "１", count: 40)) == nil)
    }

    @Test func hostnames() {
        #expect(InputValidation.isHostname("laptop-7.example.org"))
        #expect(!InputValidation.isHostname("-bad"))
        #expect(!InputValidation.isHostname("a/b"))
        #expect(!InputValidation.isHostname("x y"))
        #expect(!InputValidation.isHostname(""))
    }

    @Test func identifiersAndNonces() {
        #expect(InputValidation.isIdentifier("0123abcd-ef.x_y"))
        #expect(!InputValidation.isIdentifier("a b"))
        #expect(!InputValidation.isIdentifier(String(repeating: "a", count: 129)))
        #expect(InputValidation.isNonce(WireProtocol.makeNonce()))
        #expect(WireProtocol.makeNonce() != WireProtocol.makeNonce())
    }

    @Test func timesRoundTrip() {
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(RFC3339.string(from: date) == "2023-11-14T22:13:20Z")
        #expect(RFC3339.date(from: "2023-11-14T22:13:20Z") == date)
        #expect(RFC3339.date(from: "yesterday") == nil)
    }
}

@Suite struct SettingsTests {
    @Test func missingFieldsTakeDefaultsAndBadFilesSayWhere() throws {
        let sandbox = try Sandbox()
        let dir = sandbox.path
        try "server_url: https://rookery.example:8443\ncollect_interval: 600\n".write(toFile: dir + "/c.yml", atomically: true, encoding: .utf8)
        let settings = try ClientSettingsFile.load(from: dir + "/c.yml")
        #expect(settings.serverURL == "https://rookery.example:8443")
        #expect(settings.collectInterval == 600)
        #expect(settings.submitInterval == ClientSettings().submitInterval)

        try "collect_interval: [oops\n".write(toFile: dir + "/bad.yml", atomically: true, encoding: .utf8)
        #expect { try ClientSettingsFile.load(from: dir + "/bad.yml") } throws: { error in
            "\(error)".contains(dir + "/bad.yml")
        }
        #expect(throws: SettingsError.self) { try ClientSettingsFile.load(from: dir + "/none.yml") }
    }

    /// The shipped template is all comments: a device set up from it runs on defaults and its release.
    @Test func theTemplateMeansDefaultsAndTheOwnersFileOverridesTheReleaseButForTheServerURL() throws {
        let sandbox = try Sandbox()
        let root = InstallRoot(path: sandbox.path)
        let template = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("client/settings.yml.template")
        try sandbox.write(try String(contentsOf: template, encoding: .utf8), to: "client/settings.yml")
        var loaded = try ClientSettingsFile.load(root)
        #expect(loaded.settings.serverURL == ClientSettings().serverURL)
        #expect(loaded.source(of: "server_url") == .builtIn)

        let releaseFile = sandbox.path + "/client/release.yml"
        let ownFile = sandbox.path + "/client/settings.yml"
        try sandbox.write("server_url: \"https://release.example\"\nenrollment_token: \"t0k\"\n", to: "client/release.yml")
        loaded = try ClientSettingsFile.load(root)
        #expect(loaded.settings.serverURL == "https://release.example")
        #expect(loaded.source(of: "server_url") == .release(file: releaseFile))
        #expect(loaded.settings.enrollmentToken == "t0k")
        #expect(loaded.settings.allowCommands)

        // The owner's file wins for everything but the server URL, which the release manages.
        try sandbox.write("# mine\nserver_url: https://own.example\nallow_commands: false\n", to: "client/settings.yml")
        loaded = try ClientSettingsFile.load(root)
        #expect(loaded.settings.serverURL == "https://release.example")
        #expect(loaded.source(of: "server_url") == .release(file: releaseFile))
        #expect(loaded.setAside == ["server_url"])
        #expect(loaded.settings.enrollmentToken == "t0k")
        #expect(!loaded.settings.allowCommands)
        #expect(loaded.source(of: "allow_commands") == .owner(file: ownFile))
        #expect(loaded.source(of: "collect_interval") == .builtIn)

        // ... unless the owner says the URL is theirs.
        try sandbox.write("server_url: https://own.example\nkeep_server_url: true\n", to: "client/settings.yml")
        loaded = try ClientSettingsFile.load(root)
        #expect(loaded.settings.serverURL == "https://own.example")
        #expect(loaded.source(of: "server_url") == .owner(file: ownFile))
        #expect(loaded.setAside.isEmpty)

        // Without a release-managed URL the owner's counts (a device set up before client-setup.sh
        // wrote it into client/release.yml, until its first release).
        try FileManager.default.removeItem(atPath: releaseFile)
        try sandbox.write("server_url: https://own.example\n", to: "client/settings.yml")
        loaded = try ClientSettingsFile.load(root)
        #expect(loaded.settings.serverURL == "https://own.example")
        #expect(loaded.source(of: "server_url") == .owner(file: ownFile))

        try FileManager.default.removeItem(atPath: ownFile)
        #expect(throws: SettingsError.self) { try ClientSettingsFile.load(root) }
    }
}
