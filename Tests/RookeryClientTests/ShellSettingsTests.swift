import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// The device's shell and agent settings: their defaults, the owner's file turning shells off
/// whatever the release says, and values out of bounds refused with the file, line and key.
@Suite struct ShellSettingsTests {
    @Test func defaultsAreTheContracts() throws {
        for settings in [ClientSettings(), try ClientSettingsFile.decode("", source: "s.yml")] {
            #expect(settings.allowShells)
            #expect(settings.shellAccount == "root")
            #expect(settings.shellIdleSeconds == 1800)
            #expect(!settings.shellTranscripts)
            #expect(settings.shellReconnectSeconds == 30)
            #expect(settings.agent)
        }
    }

    @Test func everyShellSettingIsRead() throws {
        let text = """
            allow_shells: false
            shell_account: operator
            shell_idle_seconds: 30
            shell_transcripts: true
            shell_reconnect_seconds: 3600
            agent: false

            """
        let settings = try ClientSettingsFile.decode(text, source: "s.yml")
        #expect(!settings.allowShells && settings.shellAccount == "operator" && settings.shellIdleSeconds == 30)
        #expect(settings.shellTranscripts && settings.shellReconnectSeconds == 3600 && !settings.agent)
    }

    /// The owner's file wins over the release's: a release cannot turn shells back on.
    @Test func theOwnersFileTurnsShellsOff() throws {
        let sandbox = try Sandbox()
        try sandbox.write("allow_shells: true\nagent: true\n", to: "client/release.yml")
        try sandbox.write("allow_shells: false\n", to: "client/settings.yml")
        let loaded = try ClientSettingsFile.load(InstallRoot(path: sandbox.path))
        #expect(!loaded.settings.allowShells)
        #expect(loaded.source(of: "allow_shells") == .owner(file: sandbox.path + "/client/settings.yml"))
        #expect(loaded.settings.agent)
    }

    @Test(arguments: [
        ("shell_idle_seconds: 29\n", "line 1, column 1: shell_idle_seconds must be 30 to 86400"),
        ("shell_idle_seconds: 86401\n", "line 1, column 1: shell_idle_seconds must be 30 to 86400"),
        ("agent: true\nshell_reconnect_seconds: 0\n", "line 2, column 1: shell_reconnect_seconds must be 1 to 3600"),
        ("shell_reconnect_seconds: 3601\n", "line 1, column 1: shell_reconnect_seconds must be 1 to 3600"),
        ("shell_account: \"-root\"\n", "line 1, column 1: shell_account must be an account name"),
        ("shell_account: \"ro ot\"\n", "line 1, column 1: shell_account must be an account name"),
        ("shell_account: \"\"\n", "line 1, column 1: shell_account must be an account name"),
        ("shell_account: \(String(repeating: "a", count: 33))\n", "line 1, column 1: shell_account must be an account name"),
        ("allow_shells: maybe\n", "line 1, column 15: allow_shells: expected true or false"),
        ("allow_shell: false\n", "line 1, column 1: unknown key allow_shell; did you mean allow_shells?")
    ])
    func badValuesAreRefused(text: String, says: String) {
        #expect {
            try ClientSettingsFile.decode(text, source: "s.yml")
        } throws: { error in
            "\(error)".contains("invalid settings in s.yml at \(says)")
        }
    }
}
