import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryClient

/// The device's side of managed state: the fleet's settings checked, adopted between the
/// release's and the owner's, refused whole when one value is wrong; the record the next update
/// and collection read. The firewall and the keys have suites of their own; here they are off or
/// absent, and a real nft stand-in shows the firewall part is reached.
@Suite struct ManagedStateApplierTests {
    let sandbox: Sandbox
    let root: InstallRoot

    init() throws {
        sandbox = try Sandbox()
        root = InstallRoot(path: sandbox.path + "/r")
        try sandbox.write("root:x:0:0:root:/root:/bin/sh\n", to: "system/etc/passwd")
        try FileManager.default.createDirectory(atPath: sandbox.path + "/system/root", withIntermediateDirectories: true)
    }

    func context(owner: String = "") throws -> ClientContext {
        try sandbox.write(
            "server_url: http://127.0.0.1:9\nhostname: laptop\nsystem_root: \(sandbox.path)/system\n"
                + "nft_path: \(sandbox.path)/no-nft\n" + owner,
            to: "r/client/settings.yml")
        return try ClientContext(root: root, interactive: false)
    }

    @Test func settingsAreAdoptedBetweenTheReleasesAndTheOwners() throws {
        // The release sets two values; the fleet's win over it, the owner's over both.
        try sandbox.write("collect_interval: 1200\nupdate_interval: 1800\n", to: "r/client/release.yml")
        let applier = ManagedStateApplier(context: try context(owner: "submit_interval: 120\n"))
        let state = ManagedState(
            settings: ["collect_interval": "900", "submit_interval": "600", "disabled_plugins": "screenlock users"], firewall: nil,
            authorizedKeys: nil)
        let record = applier.apply(state)
        #expect(record.sha256 == state.sha256)
        #expect(record.settings?["status"] == .string("adopted"))
        #expect(ManagedStateRecord.load(root)?.sha256 == state.sha256)

        let loaded = try ClientSettingsFile.load(root)
        #expect(loaded.settings.collectInterval == 900 && loaded.source(of: "collect_interval").kind == "fleet")
        #expect(loaded.settings.disabledPlugins == ["screenlock", "users"])
        // Where the owner set a value, the owner's wins.
        #expect(loaded.settings.submitInterval == 120 && loaded.source(of: "submit_interval").kind == "owner")
        #expect(loaded.settings.updateInterval == 1800 && loaded.source(of: "update_interval").kind == "release")

        // A state without settings removes the fleet's layer.
        _ = applier.apply(ManagedState(settings: nil, firewall: nil, authorizedKeys: nil))
        #expect(!FileManager.default.fileExists(atPath: root.clientFleetSettings))
        #expect(try ClientSettingsFile.load(root).settings.collectInterval == 1200)
    }

    @Test func aFleetFileWithAKeyNoFleetMaySetIsNotRead() throws {
        _ = try context()
        try sandbox.write("server_url: \"http://evil.example\"\n", to: "r/var/client/fleet-settings.yml")
        #expect(throws: SettingsError.self) { try ClientSettingsFile.load(root) }
    }

    @Test func oneBadValueRefusesTheSetAndTheLastGoodStays() throws {
        let applier = ManagedStateApplier(context: try context())
        _ = applier.apply(ManagedState(settings: ["collect_interval": "900"], firewall: nil, authorizedKeys: nil))
        let kept = try String(contentsOfFile: root.clientFleetSettings, encoding: .utf8)
        for bad in [
            ["collect_interval": "600", "plugin_timeout": "0"], ["server_url": "http://evil.example"],
            ["collect_interval": "ten"], ["disabled_plugins": "../x"], ["enrollment_token": "t"]
        ] {
            let record = applier.apply(ManagedState(settings: bad, firewall: nil, authorizedKeys: nil))
            #expect(record.settings?["status"] == .string("refused"), "\(bad)")
            guard case .object(let refused)? = record.settings?["refused"] else {
                Issue.record("no refusals listed for \(bad)")
                continue
            }
            #expect(!refused.isEmpty)
            #expect(try String(contentsOfFile: root.clientFleetSettings, encoding: .utf8) == kept, "\(bad)")
        }
        #expect(try ClientSettingsFile.load(root).settings.collectInterval == 900)
    }

    @Test func aStateWhoseDigestDoesNotMatchIsNotTaken() throws {
        let applier = ManagedStateApplier(context: try context())
        let real = ManagedState(settings: ["collect_interval": "900"], firewall: nil, authorizedKeys: nil)
        var json = try JSONValue.parse(try JSONEncoder().encode(real))
        guard case .object(var fields) = json else {
            Issue.record("a state is not a JSON object: \(json)")
            return
        }
        fields["settings"] = .object(["collect_interval": .string("60")])
        json = .object(fields)
        let forged = try JSONDecoder().decode(ManagedState.self, from: json.serialized())
        #expect(!forged.isIntact)
        let record = applier.apply(forged)
        #expect(record.sha256 == nil && record.settings?["status"] == .string("refused"))
        #expect(!FileManager.default.fileExists(atPath: root.clientFleetSettings))
    }

    @Test func theOwnerCanRefuseTheFirewallAndTheKeys() throws {
        let applier = ManagedStateApplier(context: try context(owner: "manage_firewall: false\nmanage_ssh_keys: false\n"))
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBRtEcPf1WE2zXfOxQhMk4vB0CdBR1WU0d6KHUbQZgkp alice@laptop"
        let record = applier.apply(
            ManagedState(settings: nil, firewall: "table inet rookery {\n}\n", authorizedKeys: ["root": key + "\n"]))
        #expect(record.firewall?["status"] == .string("refused"))
        #expect(record.firewall?["reason"]?.stringValue?.contains("manage_firewall: false") == true)
        #expect(record.authorizedKeys?["status"] == .string("refused"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/system/root/.ssh/authorized_keys"))
    }

    @Test func aFirewallTheDeviceCannotLoadIsReportedAsFailed() throws {
        let applier = ManagedStateApplier(context: try context())
        let record = applier.apply(ManagedState(settings: nil, firewall: "table inet rookery {\n}\n", authorizedKeys: nil))
        #expect(record.firewall?["status"] == .string("failed"), "\(String(describing: record.firewall))")
        #expect(record.firewall?["rolled_back"] == .bool(true))
        // Failed, not refused: the digest is not kept, so the next update brings the state again.
        #expect(record.sha256 == nil && ManagedStateRecord.load(root)?.sha256 == nil)
    }
}
