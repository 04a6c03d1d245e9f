import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// `rookery-client cron` with the server out of reach, as on a laptop off the network: cron and
/// systemd timers need exit 0 (cron ignores the status anyway; a timer's unit would be marked
/// failed every minute), the collection kept and the reason in client.log. `submit` by hand says
/// exit 3 for the same server.
@Suite struct CronExitStatusEndToEndTests {
    @Test func cronKeepsTheQueueAndExitsZeroWhereSubmitByHandExitsThree() throws {
        let sandbox = try Sandbox()
        let client = try ClientRoot(
            sandbox: sandbox, name: "c1",
            serverURL: "http://127.0.0.1:\(try PortsEndToEndTests.freePort())")
        // A first run: update, collection and delivery are all due.
        let cron = try client.run("cron")
        #expect(cron.status == 0, "\(cron.stderr)")
        #expect(cron.stdout.isEmpty && cron.stderr.isEmpty, "cron stays quiet: \(cron.stdout)\(cron.stderr)")
        #expect(client.queued().count == 1, "the collection is kept for the next delivery")
        let log = try String(contentsOfFile: client.root + "/var/client/client.log", encoding: .utf8)
        // Never enrolled: the first delivery step, enrollment, is what failed.
        #expect(log.contains("enrollment failed") && log.contains("Couldn't connect"), "\(log)")

        let submit = try client.run("submit")
        #expect(submit.status == 3, "\(submit.stdout)\(submit.stderr)")
        #expect(client.queued().count == 1)
    }
}
