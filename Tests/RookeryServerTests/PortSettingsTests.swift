import Foundation
import RookeryCore
import RookeryServer
import Testing
import Yams

/// The `port` setting's three forms, and what it refuses.
@Suite struct PortSettingsTests {
    static func ports(_ yaml: String) throws -> [PortSettings] {
        try YAMLDecoder().decode(ServerSettings.self, from: yaml).listeningPorts
    }

    @Test func aNumberAListOrAMap() throws {
        #expect(try Self.ports("listen_port: 9000\n") == [PortSettings(number: 9000)])
        #expect(try Self.ports("port: 8080\n") == [PortSettings(number: 8080)])
        #expect(try Self.ports("port: [8443, 8080]\n") == [PortSettings(number: 8443), PortSettings(number: 8080)])
        let map = try Self.ports(
            """
            port:
              8443:
                tls: {certificate: server/cert.pem, key: server/key.pem}
              8080:
                deprecated: true
              9000: {}
            """)
        #expect(map.map(\.number) == [8080, 8443, 9000])
        #expect(map.map(\.deprecated) == [true, false, false])
        #expect(map[1].tls == PortSettings.TLSFiles(certificate: "server/cert.pem", key: "server/key.pem"))
    }

    @Test(arguments: [
        "port: 8080\nlisten_port: 8080\n",  // both
        "port: [8080, 8080]\n",  // twice
        "port: 70000\n",  // out of range
        "port: []\n",  // none
        "port:\n  8080:\n    deprecate: true\n",  // misspelt option
        "port:\n  http: {}\n"  // not a number
    ])
    func mistakesAreRefused(_ yaml: String) {
        #expect(throws: (any Error).self, "\(yaml)") { try Self.ports(yaml) }
    }
}
