import Testing

@testable import RookeryClient

/// The certificate hint names the port the device uses, as `configure_ports client --ca-from-port`
/// wants it: the URL's own, else its scheme's.
@Suite struct ServerConnectionHintTests {
    @Test(arguments: [
        ("https://rookery.example.org:8443", 8443), ("https://rookery.example.org:8443/base/", 8443),
        ("https://rookery.example.org", 443), ("http://rookery.example.org/", 80),
        ("https://[2001:db8::7]:9443", 9443), ("https://[2001:db8::7]", 443),
        ("https://user@rookery.example.org:8444", 8444)
    ])
    func thePortOfTheURL(url: String, port: Int) {
        #expect(ServerConnection.port(of: url) == port)
    }

    @Test func aURLWithoutSchemeHasNoPortAndTheHintSaysPORT() {
        #expect(ServerConnection.port(of: "rookery.example.org:8443") == nil)
        let hint = ServerConnection(baseURL: "rookery.example.org", timeoutSeconds: 1).certificateHint
        #expect(hint.contains("--ca-from-port PORT") && hint.contains("pins no CA"), "\(hint)")
    }
}
