import Foundation
import RookeryCore
import Testing

/// Strangers at the dashboard's port of a real server process: without credentials, with wrong
/// ones, with long query strings. Each is refused before any read of the fleet; past 10 wrong
/// passwords the address is answered 429 before any password work; the server's memory and CPU
/// (from /proc) stay bounded and a device on the devices' port is served throughout.
@Suite(.serialized) struct DashboardAttackTests {
    @Test func strangersAtTheDashboardCostLittleAndLearnNothing() throws {
        let sandbox = try Sandbox()
        let (server, dashboard) = try DashboardBrowserTests.startServer(in: sandbox)
        let device = try NormalDevice(server: server, sandbox: sandbox)
        let answers = Locked([String: Int]())
        let base = "http://127.0.0.1:\(dashboard)"
        let longQuery = "/devices?" + String(repeating: "sort=hostname&", count: 400)
        _ = try HostileInputAttackTests.underAttack(server, device: device, parallel: 6, cpuBound: 3, seconds: 4) { index in
            let (path, credentials): (String, [String]) =
                switch index % 3 {
                case 0: ("/devices", [])
                case 1: ("/rookery/v1/admin/fleet", ["-u", "carol:guess-\(index)"])
                default: (longQuery, [])
                }
            let answer = try runProcess(
                "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}"] + credentials + [base + path], environment: [:])
            answers.withLock { $0["\(index % 3):\(answer.stdout)", default: 0] += 1 }
            try HostileInputAttackTests.require(["401", "429"].contains(answer.stdout), "\(path): \(answer.stdout)")
        }
        let counts = answers.current
        print("DashboardAttackTests: answers \(counts.sorted { $0.key < $1.key })")
        // Wrong passwords: at most 10 checked, then 429 (and the anonymous are refused too once
        // the address is blocked).
        #expect((counts["1:401"] ?? 0) <= 10, "\(counts)")
        #expect((counts["1:429"] ?? 0) > 0, "\(counts)")
    }
}
