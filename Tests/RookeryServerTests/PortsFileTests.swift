import Foundation
import RookeryCore
import RookeryServer
import Testing

/// configure-ports' edit of the port setting: the whole list rewritten as one block, the rest kept.
@Suite struct PortsFileTests {
    static let settings = """
        # Rookery settings
        listen_host: 127.0.0.1
        listen_port: 8080   # the first port
        # the database
        database: var/server/rookery.sqlite

        """

    @Test func aChangeWritesThePortBlockInPlaceOfListenPortAndKeepsTheRest() throws {
        let files = try AdminFiles(settings: Self.settings)
        let ports = try PortsFile(root: files.root).change { $0.append(PortSettings(number: 8000, deprecated: true)) }
        #expect(ports.map(\.number) == [8000, 8080])
        #expect(
            try files.settingsText() == """
                # Rookery settings
                listen_host: 127.0.0.1
                port:
                  8000:
                    deprecated: true
                  8080: {}
                # the database
                database: var/server/rookery.sqlite

                """)
        #expect(try PortsFile(root: files.root).read().listeningPorts == ports)
    }

    @Test func theLastPortIsNotRemoved() throws {
        let files = try AdminFiles(settings: Self.settings)
        let error = #expect(throws: AdminError.self) { try PortsFile(root: files.root).change { $0.removeAll() } }
        #expect(error?.description.contains("at least one port") == true)
        #expect(try files.settingsText() == Self.settings)
    }

    @Test func topLevelValuesAreSetAndEveryOtherLineStays() throws {
        let files = try AdminFiles(settings: Self.settings)
        try PortsFile(root: files.root).set(["client_server_url": "https://rookery.example:8443", "client_ca_file": ""])
        let text = try files.settingsText()
        #expect(text.hasPrefix(Self.settings), "\(text)")
        let settings = try PortsFile(root: files.root).read()
        #expect(settings.clientServerURL == "https://rookery.example:8443")
        #expect(settings.clientCAFile.isEmpty)
    }

    /// A mistake elsewhere in the file stops the edit with the file and the line it is on.
    @Test func aBrokenSettingStopsTheEditAndNamesItsFileAndLine() throws {
        let broken = Self.settings + "allowed_clock_skew: soon\n"
        let files = try AdminFiles(settings: broken)
        let error = #expect(throws: SettingsError.self) {
            try PortsFile(root: files.root).change { $0.append(PortSettings(number: 8443)) }
        }
        #expect(error?.description.contains("\(files.settingsPath) at line 6") == true, "\(String(describing: error))")
        #expect(try files.settingsText() == broken)
    }
}
