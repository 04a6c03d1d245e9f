import RookeryCore
import RookeryServer
import Testing

/// What server/settings.yml's values turn into for the parts of the server that use them.
@Suite struct ServerSettingsTests {
    @Test func serverSettingsCarryTheLimits() {
        var settings = ServerSettings()
        #expect(settings.documentLimits == DocumentLimits())
        settings.maxKeyBytes = 10
        settings.maxDocumentLeaves = 5
        #expect(settings.documentLimits.maxKeyBytes == 10)
        #expect(settings.documentLimits.maxLeaves == 5)
    }
}
