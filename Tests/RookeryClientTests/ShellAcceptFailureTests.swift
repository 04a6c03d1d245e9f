import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

@testable import RookeryClient

/// A shell_accept that fails (here: nothing listens at the server's address) leaves no shell: the
/// shell starts only after the server accepted, so no session was logged in sessions.log.
@Suite struct ShellAcceptFailureTests {
    @Test func aFailedAcceptStartsNoShell() throws {
        let sandbox = try Sandbox()
        try sandbox.write(
            "server_url: http://127.0.0.1:9\nhostname: laptop\nallow_shells: true\nshell_account: tester\n"
                + "system_root: \(sandbox.path)/system\n",
            to: "r/client/settings.yml")
        try sandbox.write("tester:x:\(geteuid()):\(getegid()):T:/:/bin/sh\n", to: "system/etc/passwd")
        let (server, serverKey) = try UpdateAnswerCheckTests.makeKey(in: sandbox.path + "/s", userID: "rookery server")
        try sandbox.write(try server.exportPublicKey(fingerprint: serverKey), to: "r/client/server-key.asc")
        let context = try ClientContext(root: InstallRoot(path: sandbox.path + "/r"), interactive: false)
        let offer = try CheckedShellOffer(
            ShellOffer(sessionID: String(repeating: "d4", count: 16), adminKey: Data(repeating: 4, count: 32), openedBy: "user a"))
        #expect(DeviceShellRun(context: context, offer: offer).run() == 1)
        let log = try String(contentsOfFile: context.root.clientState + "/client.log", encoding: .utf8)
        #expect(log.contains("shell_accept failed"), "\(log)")
        #expect(!log.contains("refused"), "\(log)")
        #expect(!FileManager.default.fileExists(atPath: ShellLauncher.directory(context.root) + "/sessions.log"))
    }
}
