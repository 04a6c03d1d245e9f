import Foundation
import Testing

@testable import RookeryPlugins

@Suite("BuiltinPlugins")
struct BuiltinPluginsTests {
    @Test("names lists every plugin, sorted")
    func namesAreSortedAndComplete() {
        #expect(
            BuiltinPlugins.names == [
                "backup", "disk", "firewall", "guest_session", "hardware", "hd_encryption", "listening_ports", "network",
                "os_info", "os_updates", "screenlock", "sshd", "uptime", "users"
            ])
    }

    @Test("an unknown plugin name throws PluginError")
    func unknownNameThrows() throws {
        let sandbox = try Sandbox(fixture: nil)
        let error = #expect(throws: PluginError.self) {
            try BuiltinPlugins.run(name: "no_such_plugin", root: sandbox.root, stateDirectory: sandbox.stateDirectory)
        }
        #expect(error?.description.contains("no_such_plugin") == true)
    }

    @Test("on an empty root every plugin answers with JSON, mostly \"unknown\"", arguments: BuiltinPlugins.names)
    func emptyRoot(plugin: String) throws {
        let sandbox = try Sandbox(fixture: nil)
        let output = try sandbox.run(plugin)
        switch output {
        case .object, .string("unknown"): break
        default: Issue.record("\(plugin) printed \(output)")
        }
    }

    @Test("the answers nothing can be known about on an empty root are \"unknown\"")
    func emptyRootAnswersUnknown() throws {
        let sandbox = try Sandbox(fixture: nil)
        #expect(try sandbox.run("hd_encryption") == "unknown")
        #expect(try sandbox.run("disk") == "unknown")
        #expect(try sandbox.run("os_updates") == "unknown")
        #expect(try sandbox.run("listening_ports") == "unknown")
        #expect(try sandbox.run("os_info")["id"] == "unknown")
        #expect(try sandbox.run("hardware")["memory_bytes"] == "unknown")
        #expect(try sandbox.run("uptime")["boot_time"] == "unknown")
        #expect(try sandbox.run("users")["logged_in"] == "unknown")
        #expect(try sandbox.run("firewall")["active"] == "unknown")
        #expect(try sandbox.run("sshd")["running"] == "unknown")
        #expect(try sandbox.run("screenlock")["enabled"] == "unknown")
        #expect(try sandbox.run("network")["ipv4_default_route"] == "unknown")
        #expect(try sandbox.run("backup")["newest_success"] == "unknown")
    }
}
