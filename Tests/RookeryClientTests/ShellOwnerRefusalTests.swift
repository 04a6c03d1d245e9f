import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryClient

/// `allow_shells: false` in the owner's file: the device refuses before it makes a key or starts
/// anything, and logs why. The refusal is also sent to the server (signed), which here is a port
/// nothing listens on: that it was tried is logged too (the server's side is the end-to-end tests').
@Suite struct ShellOwnerRefusalTests {
    @Test func theOwnersSwitchRefusesBeforeAnythingStarts() throws {
        let sandbox = try Sandbox()
        try sandbox.write(
            "server_url: http://127.0.0.1:9\nhostname: laptop\nallow_shells: false\nsystem_root: \(sandbox.path)/system\n",
            to: "r/client/settings.yml")
        try sandbox.write("tester:x:\(geteuid()):\(getegid()):T:/:/bin/sh\n", to: "system/etc/passwd")
        let context = try ClientContext(root: InstallRoot(path: sandbox.path + "/r"), interactive: false)
        let offer = try CheckedShellOffer(
            ShellOffer(sessionID: String(repeating: "c3", count: 16), adminKey: Data(repeating: 4, count: 32), openedBy: "user a"))
        #expect(DeviceShellRun(context: context, offer: offer).run() == 1)
        let log = try String(contentsOfFile: context.root.clientState + "/client.log", encoding: .utf8)
        #expect(log.contains("refused: \(DeviceShellRun.ownerRefusal)"), "\(log)")
        #expect(log.contains("the refusal did not reach the server"), "\(log)")
        #expect(!FileManager.default.fileExists(atPath: ShellLauncher.directory(context.root) + "/sessions.log"))
    }
}
