import Foundation
import RookeryCore
import RookeryServer
import Testing

/// save-password's edit: one value set where the server reads it, nothing else moved.
@Suite struct PasswordFileTests {
    static let hash = PasswordHash(hashing: "correct horse").description

    @Test func aServerWideUserLandsUnderUsersAndTheRestStays() throws {
        let files = try AdminFiles(
            settings: """
                # Rookery settings
                listen_port: 8080   # keep me
                users:
                  alice: "old"
                database: var/server/rookery.sqlite

                """)
        try PasswordFile(path: files.settingsPath).store(Self.hash, user: "bob", endpoint: nil)
        let text = try files.settingsText()
        #expect(text.hasPrefix("# Rookery settings\nlisten_port: 8080   # keep me\nusers:\n  alice: \"old\"\n"), "\(text)")
        let settings = try SettingsFile.load(ServerSettings.self, from: files.settingsPath)
        #expect(settings.users == ["alice": "old", "bob": Self.hash])
        #expect(settings.database == "var/server/rookery.sqlite")
    }

    @Test func anEndpointPasswordLandsUnderThatEndpointOnly() throws {
        let files = try AdminFiles(settings: "listen_port: 8080\n")
        try PasswordFile(path: files.settingsPath).store(Self.hash, user: "carol", endpoint: "submit")
        let settings = try SettingsFile.load(ServerSettings.self, from: files.settingsPath)
        #expect(settings.users.isEmpty)
        #expect(settings.endpointAuth["submit"]?.passwords == ["carol": Self.hash])
    }

    /// A flow-style mapping the line editor cannot extend: refused by the read-back check, the
    /// file left as it was, and the message says what to add by hand.
    @Test func anEditThatWouldNotReadAsMeantIsRefused() throws {
        let original = "users: {alice: \"old\"}\nlisten_port: 8080\n"
        let files = try AdminFiles(settings: original)
        let error = #expect(throws: AdminError.self) {
            try PasswordFile(path: files.settingsPath).store(Self.hash, user: "bob", endpoint: nil)
        }
        #expect(try files.settingsText() == original)
        #expect(error?.description.contains(files.settingsPath) == true)
        #expect(error?.description.contains("bob: \"\(Self.hash)\"") == true)
    }
}
