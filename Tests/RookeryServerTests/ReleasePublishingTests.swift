import RookeryCore
import RookeryServer
import Testing

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
}
