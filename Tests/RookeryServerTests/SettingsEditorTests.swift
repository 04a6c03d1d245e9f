import Foundation
import RookeryCore
import RookeryServer
import Testing
import Yams

/// Line edits of YAML settings: the value lands where YAML reads it, and nothing else moves.
@Suite struct SettingsEditorTests {
    static func value(_ path: [String], in text: String) throws -> String? {
        var node = try Yams.compose(yaml: text)
        for key in path { node = node?[Node(key)] }
        return node?.string
    }

    @Test func aMissingBlockIsAddedAfterTheLastSettingAndCommentsStay() throws {
        let text = """
            # Rookery server settings.
            listen_port: 8080   # the port
            # users:
            #   alice: "..."

            """
        let edited = SettingsEditor.setting(["users", "alice"], to: "\"h1\"", in: text)
        #expect(try Self.value(["users", "alice"], in: edited) == "h1")
        #expect(try Self.value(["listen_port"], in: edited) == "8080")
        #expect(edited.contains("# Rookery server settings.\nlisten_port: 8080   # the port\n"))
        #expect(edited.contains("# users:\n#   alice: \"...\""), "the commented example stays")
    }

    @Test func anExistingValueIsReplacedAndItsNeighboursKept() throws {
        let text = """
            users:
              # the admins
              alice: "old"
              bob: "b"
            groups:
              admins: [alice]
            """
        let edited = SettingsEditor.setting(["users", "alice"], to: "\"new\"", in: text)
        #expect(try Self.value(["users", "alice"], in: edited) == "new")
        #expect(try Self.value(["users", "bob"], in: edited) == "b")
        #expect(edited.contains("  # the admins\n  alice: \"new\"\n  bob: \"b\"\ngroups:"))
        #expect(!edited.contains("old"))
    }

    @Test func aNewKeyJoinsItsBlockAtTheBlocksOwnIndentation() throws {
        let text = """
            endpoint_auth:
                download_release:
                    ip_ranges: [10.0.0.0/8]
            audit:
              mailto: root@example.org
            """
        let edited = SettingsEditor.setting(
            ["endpoint_auth", "download_release", "passwords", "installer"],
            to: "\"h\"", in: text)
        #expect(try Self.value(["endpoint_auth", "download_release", "passwords", "installer"], in: edited) == "h")
        #expect(try Self.value(["audit", "mailto"], in: edited) == "root@example.org")
        #expect(edited.contains("        ip_ranges: [10.0.0.0/8]\n        passwords:\n          installer: \"h\"\naudit:"))
    }

    @Test func anInlineEmptyMappingBecomesABlock() throws {
        let edited = SettingsEditor.setting(["users", "alice"], to: "\"h\"", in: "users: {}\nlisten_port: 1\n")
        #expect(edited == "users:\n  alice: \"h\"\nlisten_port: 1\n")
    }

    @Test func aLeafWithChildrenIsReplacedWhole() throws {
        let edited = SettingsEditor.setting(["users", "alice"], to: "\"h\"", in: "users:\n  alice:\n    x: 1\n  bob: b\n")
        #expect(edited == "users:\n  alice: \"h\"\n  bob: b\n")
    }

    @Test func anEmptyFileGetsTheWholePath() throws {
        #expect(SettingsEditor.setting(["users", "alice"], to: "\"h\"", in: "") == "users:\n  alice: \"h\"\n")
    }

    @Test func aTopLevelBlockIsReplacedWholeAndItsNeighboursKept() throws {
        let text = """
            # Ports
            port:
              8080: {}
              # the old one
              8000:
                deprecated: true
            # Database
            database: a.sqlite

            """
        let edited = SettingsEditor.replacingTopLevel("port", with: ["port:", "  9443: {}"], in: text)
        #expect(edited == "# Ports\nport:\n  9443: {}\n# Database\ndatabase: a.sqlite\n")
        let removed = SettingsEditor.replacingTopLevel("database", with: [], in: edited)
        #expect(try Self.value(["database"], in: removed) == nil)
        #expect(removed.contains("port:\n  9443: {}\n# Database\n"))
    }

    @Test func aMissingTopLevelBlockIsAppended() throws {
        let edited = SettingsEditor.replacingTopLevel("port", with: ["port:", "  8443: {}"], in: "database: a\n")
        #expect(edited == "database: a\nport:\n  8443: {}\n")
        #expect(
            SettingsEditor.replacingTopLevel("portal", with: [], in: "port: 1\n") == "port: 1\n",
            "a key is matched whole, not by prefix")
    }
}
