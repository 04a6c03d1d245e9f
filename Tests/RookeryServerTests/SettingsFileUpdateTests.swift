import Foundation
import RookeryCore
import Testing

@testable import RookeryServer

/// The write path of every settings edit: under a lock, whole, renamed into place, mode kept.
@Suite struct SettingsFileUpdateTests {
    @Test func anEditReplacesTheFileWholeAndKeepsItsMode() throws {
        let files = try AdminFiles(settings: "# the admin's note\nlisten_port: 8080\n", mode: 0o640)
        // A reader that opened the file before the edit still reads the old text: the new one
        // was written beside it and renamed into place, never written over it.
        let before = try #require(FileHandle(forReadingAtPath: files.settingsPath))
        try SettingsFileUpdate(path: files.settingsPath).apply { $0 + "database: var/other.sqlite\n" }
        #expect(String(decoding: before.readDataToEndOfFile(), as: UTF8.self) == "# the admin's note\nlisten_port: 8080\n")
        #expect(try files.settingsText() == "# the admin's note\nlisten_port: 8080\ndatabase: var/other.sqlite\n")
        #expect(try files.mode(of: files.settingsPath) == 0o640)
        #expect(try files.files(in: "server") == [".settings.lock", "settings.yml"])
    }

    @Test func anEditThatThrowsLeavesTheFileAlone() throws {
        let files = try AdminFiles(settings: "listen_port: 8080\n")
        #expect(throws: SettingsError.self) {
            try SettingsFileUpdate(path: files.settingsPath).apply { _ in throw SettingsError("no") }
        }
        #expect(try files.settingsText() == "listen_port: 8080\n")
        #expect(try files.files(in: "server") == [".settings.lock", "settings.yml"])
    }

    @Test func aMissingFileIsNamedWithWhatToDo() throws {
        let files = try AdminFiles(settings: "")
        try FileManager.default.removeItem(atPath: files.settingsPath)
        let error = #expect(throws: SettingsError.self) {
            try SettingsFileUpdate(path: files.settingsPath).apply { $0 }
        }
        #expect(error?.description.contains(files.settingsPath) == true)
        #expect(error?.description.contains("settings.yml.template") == true)
    }

    @Test func readsComparesWhatYAMLReadsNotTheText() {
        let before = "a: 1\nb:\n  c: x\n"
        #expect(SettingsFileUpdate.reads("a: 1 # one\nb: {c: x}\n", as: before))
        #expect(!SettingsFileUpdate.reads("a: 2\nb:\n  c: x\n", as: before))
        #expect(SettingsFileUpdate.reads("a: 2\nb:\n  c: x\n", as: before) { $0["a"] = 2 })
        #expect(SettingsFileUpdate.reads("a: 1\nb: 7\n", as: before, ignoring: ["b"]))
        #expect(!SettingsFileUpdate.reads("a: [", as: before))
    }
}
