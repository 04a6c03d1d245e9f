import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// `server_urls`: several servers sharing one database, in order; read strictly, and managed by
/// the release like `server_url`.
@Suite struct ServerURLsSettingsTests {
    static func decode(_ text: String) throws -> ClientSettings {
        try ClientSettingsFile.decode(text, source: "settings.yml")
    }

    @Test func aListOfURLsIsReadInOrderAndReplacesServerURL() throws {
        let settings = try Self.decode("server_url: http://one.example\nserver_urls: \"https://a.example:8443  https://b.example:8443\"\n")
        #expect(settings.serverURLs == ["https://a.example:8443", "https://b.example:8443"])
        #expect(try Self.decode("server_url: http://one.example\n").serverURLs == ["http://one.example"])
    }

    @Test(arguments: [
        "\"\"", "ftp://a.example", "\"https://a.example https://a.example\"",
        "\"" + (1...9).map { "https://s\($0).example" }.joined(separator: " ") + "\"", "https://a.example/\\x"
    ])
    func aListThatIsNotOneToEightDifferentURLsIsRefused(_ value: String) throws {
        #expect {
            try Self.decode("server_urls: \(value)\n")
        } throws: { error in
            "\(error)".contains("server_urls must be 1 to 8 different http:// or https:// URLs")
        }
    }

    @Test func theReleasesServersWinOverTheOwnersUnlessTheOwnerKeepsTheirs() throws {
        let sandbox = try Sandbox()
        let root = InstallRoot(path: sandbox.path)
        try sandbox.write("server_url: \"https://release.example\"\n", to: "client/release.yml")
        try sandbox.write("server_urls: \"https://own-a.example https://own-b.example\"\n", to: "client/settings.yml")
        var loaded = try ClientSettingsFile.load(root)
        #expect(loaded.settings.serverURLs == ["https://release.example"])
        #expect(loaded.setAside == ["server_urls"])

        try sandbox.write("server_urls: \"https://own-a.example https://own-b.example\"\nkeep_server_url: true\n", to: "client/settings.yml")
        loaded = try ClientSettingsFile.load(root)
        #expect(loaded.settings.serverURLs == ["https://own-a.example", "https://own-b.example"])
        #expect(loaded.setAside.isEmpty)

        try sandbox.write(
            "server_url: \"https://a.example\"\nserver_urls: \"https://a.example https://b.example\"\n", to: "client/release.yml")
        try sandbox.write("server_url: https://own.example\n", to: "client/settings.yml")
        loaded = try ClientSettingsFile.load(root)
        #expect(loaded.settings.serverURLs == ["https://a.example", "https://b.example"])
        #expect(loaded.setAside == ["server_url"])

        // An owner who keeps their one server_url is not moved by the release's list.
        try sandbox.write("server_url: https://own.example\nkeep_server_url: true\n", to: "client/settings.yml")
        loaded = try ClientSettingsFile.load(root)
        #expect(loaded.settings.serverURLs == ["https://own.example"])
    }

    /// The device keeps a JSON copy of its last good settings to run on while its files are
    /// refused: it reads back whole, with and without a list of servers.
    @Test func theLastGoodCopyReadsBack() throws {
        for text in ["server_url: http://one.example\n", "server_urls: \"https://a.example https://b.example\"\n"] {
            let settings = try Self.decode(text)
            let copy = try JSONDecoder().decode(ClientSettings.self, from: try JSONEncoder().encode(settings))
            #expect(copy.serverURLs == settings.serverURLs)
            #expect(copy.serverURL == settings.serverURL)
        }
    }
}
