import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryServer

/// The URL a release carries: what the admin set, or one made from the ports devices can use.
@Suite struct ReleasePublishingTests {
    @Test func theSetURLWins() {
        var settings = ServerSettings()
        settings.clientServerURL = "https://rookery.example:8443"
        settings.ports = [PortSettings(number: 8080)]
        #expect(ReleasePublishing.serverURL(settings) == "https://rookery.example:8443")
    }

    @Test func withoutOneTheFirstPortThatIsNotDeprecatedIsUsed() {
        var settings = ServerSettings()
        settings.listenHost = "10.0.0.5"
        settings.ports = [
            PortSettings(number: 8000, deprecated: true),
            PortSettings(number: 8443, tls: .init(certificate: "c.pem", key: "c.key"))
        ]
        #expect(ReleasePublishing.serverURL(settings) == "https://10.0.0.5:8443")
        settings.ports = [PortSettings(number: 8000, deprecated: true)]
        #expect(ReleasePublishing.serverURL(settings) == "http://10.0.0.5:8000")
    }

    /// Several servers on one database: the first is the release's server_url, and the list goes
    /// to the devices as server_urls, which they read back in order.
    @Test func severalServersGoToDevicesAsServerURLs() throws {
        let sandbox = try Sandbox()
        try sandbox.write(
            "client_server_urls: [https://a.example:8443, https://b.example:8443]\n", to: "server/settings.yml")
        let settings = try SettingsFile.load(ServerSettings.self, from: sandbox.path + "/server/settings.yml")
        #expect(ReleasePublishing.serverURL(settings) == "https://a.example:8443")
        let text = ReleaseBuilder.releaseSettings(
            3, serverURL: ReleasePublishing.serverURL(settings), serverURLs: settings.clientServerURLs, enrollmentToken: "")
        let device = try ClientSettingsFile.decode(text, source: "release.yml")
        #expect(device.serverURLs == ["https://a.example:8443", "https://b.example:8443"])
    }

    @Test(arguments: ["[]", "[ftp://a.example]", "[https://a.example, https://a.example]", "[\"https://a b\"]"])
    func aServerListDevicesCouldNotUseIsRefusedAtLoad(_ value: String) throws {
        let sandbox = try Sandbox()
        try sandbox.write("client_server_urls: \(value)\n", to: "server/settings.yml")
        #expect {
            try SettingsFile.load(ServerSettings.self, from: sandbox.path + "/server/settings.yml")
        } throws: { error in
            "\(error)".contains("client_server_urls must list 1 to 8 different http:// or https:// URLs")
        }
    }
}
